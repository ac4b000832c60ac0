# Predictions for the FreiHAND evaluation server: the public evaluation split
# as the server sees it (3960 images with K and scale, no joints) through the
# fine-tuned model of hand25d_resnet50_peclr_freihand.py, written as the
# official pred.json and the zip to upload (outfile_prefix + '.pred.json' /
# '.pred.zip'; the official pred.py workflow). A set of other than 3960
# predictions is refused.
#
#   python tools/test.py \
#     configs/hand25d/\
#     hand25d_resnet50-peclr_1xb64-100e_freihand-128_submission.py CKPT \
#       [--cfg-options test_evaluator.outfile_prefix=OUT/freihand]
_base_ = ['./hand25d_resnet50-peclr_1xb64-100e_freihand-128.py']

outfile_prefix = 'work_dirs/freihand_submission/freihand'
test_dataloader = dict(dataset=dict(with_labels='camera'))
test_evaluator = dict(
    _delete_=True,
    type='FreiHand3DMetric',
    gt_available=False,
    outfile_prefix=outfile_prefix,
    submission_size=3960)
