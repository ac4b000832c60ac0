# The PeCLR authors' released fine-tuned ResNet-50
# (rn50_peclr_yt3d-fh_pt_fh_ft.pth, model RN_25D_wMLPref), converted whole by
# tools/convert_peclr_weights.py, predicting as the authors' FreiHAND test
# script (testing/pred_fh.py of their repository) does:
#   - the first crop is the image's centre box scaled by 0.33, filling 0.7
#     of a 224 px view (bilinear, border 0), ImageNet mean/std on RGB;
#   - the output layer regresses 21 x (u, v, z_rel) in crop pixels, the palm
#     in the wrist's slot with z_rel 0 (codec root_slot=0); the root depth
#     is the closed form on bone 9-10 (discriminant floored at 1e-8,
#     clamped to [4, 50] bone lengths, detached) plus the MLP's residual;
#   - a second pass crops the box of the first pass's 2-D keypoints
#     (truncated to integers in crop pixels, mapped to the image) so that it
#     fills 0.7 of the view; the wrist is recovered as 2 * palm - middle MCP.
#
#   python tools/convert_peclr_weights.py rn50_peclr_yt3d-fh_pt_fh_ft.pth \
#       rn50_peclr_released.pth
#   python tools/test.py \
#       configs/hand25d/hand25d_resnet50-peclr-released_freihand-224.py \
#       rn50_peclr_released.pth
_base_ = ['../_base_/hand25d_freihand.py']

input_size = 224
depth = 50
in_channels = 2048
batch_size = 32
# The released model's K when none is given (RN_25D_wMLPref.K_default): the
# intrinsics of the 224 px crop, used by tools/infer.py for images whose
# camera is unknown.
default_crop_K = [[388.9018310596544, 0.0, 112.0],
                  [0.0, 388.71231836584275, 112.0], [0.0, 0.0, 1.0]]

codec = dict(
    type='Hand25DCodec',
    input_size=(input_size, input_size),
    root='palm',
    ref_bone=(9, 10),
    root_slot=0)

model = dict(
    backbone=dict(depth=depth, init_cfg=None),
    head=dict(
        type='Hand25DHead',
        in_channels=in_channels,
        hidden_dims=(),
        regress_pixels=True,
        codec=codec,
        zroot_range=(4., 50.),
        refine_scale=1.,
        discriminant_floor=1e-8),
    test_cfg=dict(recrop=dict(padding=1 / 0.7, integer_box=True)))

train_pipeline = [
    dict(type='LoadHandImage'),
    dict(
        type='HandCanonicalCrop',
        input_size=input_size,
        source='keypoints',
        padding=1 / 0.7),
    dict(
        type='RandomSimilarity',
        rotate=30.,
        margin_range=(0.85, 1.15),
        shift=0.05),
    dict(type='WarpView'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackHand3DInputs'),
]
test_pipeline = [
    dict(type='LoadHandImage'),
    dict(
        type='HandCanonicalCrop',
        input_size=input_size,
        source='image',
        padding=1 / 0.7,
        image_scale=0.33 / 0.7),
    dict(type='WarpView', keep_source=True),
    dict(type='PackHand3DInputs'),
]

train_dataloader = dict(
    batch_size=batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
load_from = None
