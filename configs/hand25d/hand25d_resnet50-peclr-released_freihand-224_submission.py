# FreiHAND server predictions of the authors' released ResNet-50
# (hand25d_resnet50-peclr-released_freihand-224.py): the evaluation split as
# the server sees it (3960 images with K and scale, no joints), written as
# the official pred.json and the zip to upload (outfile_prefix + '.pred.json'
# / '.pred.zip'), as the authors' testing/pred_fh.py writes them.
#
#   python tools/test.py configs/hand25d/\
#       hand25d_resnet50-peclr-released_freihand-224_submission.py \
#     rn50_peclr_released.pth \
#     [--cfg-options test_evaluator.outfile_prefix=OUT/rn50]
_base_ = ['./hand25d_resnet50-peclr-released_freihand-224.py']

outfile_prefix = 'work_dirs/freihand_submission/peclr_released_rn50'
test_dataloader = dict(dataset=dict(with_labels='camera'))
test_evaluator = dict(
    _delete_=True,
    type='FreiHand3DMetric',
    gt_available=False,
    outfile_prefix=outfile_prefix,
    submission_size=3960)
