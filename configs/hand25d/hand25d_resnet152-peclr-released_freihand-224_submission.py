# FreiHAND server predictions of the authors' released ResNet-152
# (hand25d_resnet152-peclr-released_freihand-224.py): as the ResNet-50
# submission config, with the deeper backbone.
#
#   python tools/test.py configs/hand25d/\
#       hand25d_resnet152-peclr-released_freihand-224_submission.py \
#     rn152_peclr_released.pth \
#     [--cfg-options test_evaluator.outfile_prefix=OUT/rn152]
_base_ = ['./hand25d_resnet50-peclr-released_freihand-224_submission.py']

outfile_prefix = 'work_dirs/freihand_submission/peclr_released_rn152'
model = dict(backbone=dict(depth=152))
test_evaluator = dict(outfile_prefix=outfile_prefix)
