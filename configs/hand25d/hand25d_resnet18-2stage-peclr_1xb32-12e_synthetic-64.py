# CPU-sized fine-tuning on the embedded synthetic set, starting from the demo
# pretraining (configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py).
# The recipe was found by measurement, one change at a time
# (projects/reproduction/finetune_recipes.py,
# docs/results/finetune_recipes.md):
# - 64 px crops of the hand's box (top-down, as mmpose's FreiHAND configs);
# - ResNet-18's stem and first two stages (stride 8) with the 2.5-D heatmap
# head (one deconvolution to stride 4, soft-argmax): at 64 px the stride-8
# stage already sees the whole crop, and the two later stages cost 40 % of
# the step; residual branches not zero-initialised;
# - the heatmaps supervised as well as read out (cross-entropy to a Gaussian
# at each joint, weight 1);
# - the 2-D loss in crop pixels, weight 1 per pixel (64 times the default
# 1 / input size);
# - bfloat16 autocast and channels-last, data loaded in the main process
# (worker processes fight the model for the two cores), the decoded
# training images kept in memory;
# - 12 epochs of 10000 hands (3744 iterations of batch 32).
_base_ = [
    '../_base_/hand25d_freihand.py', '../_base_/models/resnet18_2stage.py'
]

data_root = 'data/synthetic_freihand'
input_size = 64
batch_size = 32
max_epochs = 12
pretrained = 'work_dirs/demo/pretrain/epoch_1.pth'

codec = dict(
    type='Hand25DCodec',
    input_size=(input_size, input_size),
    root='palm',
    ref_bone=(9, 10))
model = dict(
    backbone=dict(
        _base_.resnet18_2stage, init_cfg=dict(checkpoint=pretrained)),
    head=dict(
        _delete_=True,
        type='Hand25DHeatmapHead',
        in_channels=128,
        deconv_out_channels=(128, ),
        deconv_kernel_sizes=(4, ),
        codec=codec,
        loss_weights=(1., 5., 1.),
        heatmap_loss_weight=1.))


def _crop_box(pipeline, cache_mib=0):
    # the base's pipelines on 64 px crops of the hand's box, this codec;
    # with cache_mib the decoded images are kept in memory
    return [
        dict(t, input_size=input_size, source='bbox')
        if t['type'] == 'HandCanonicalCrop' else
        dict(t, encoder=codec) if t['type'] == 'GenerateTarget' else
        dict(t, cache_mib=cache_mib) if t['type'] == 'LoadHandImage' else t
        for t in pipeline
    ]


# 10000 decoded 224 px training images take 1.4 GiB: decoded once, not
# once per epoch
train_pipeline = _crop_box(_base_.train_pipeline, cache_mib=2048)
test_pipeline = _crop_box(_base_.test_pipeline)
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(type='BF16OptimWrapper')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best=None))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='ChannelsLastHook'),
    dict(type='RandomStateHook')
]
