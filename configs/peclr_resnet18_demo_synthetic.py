# CPU-sized PeCLR pretraining on the embedded synthetic FreiHAND set.
# Differs from the paper (configs/peclr_freihand.py) only in size: ResNet-18
# and 64 px views instead of ResNet-50 and 128 px, batch 32 without gradient
# accumulation, 4 epochs with 1 warm-up epoch; Adam-LARS, lr scaled by
# sqrt(batch) as in the paper, temperature 0.5, the same augmentations.
_base_ = ['./_base_/default_runtime.py']

data_root = 'data/synthetic_freihand'
view_size = 64
batch_size = 32
max_epochs = 4
view_pipeline = [
    dict(type='HandCanonicalCrop', input_size=view_size, padding=1.0),
    dict(
        type='RandomSimilarity',
        rotate=45.,
        margin_range=(0.9, 1.5),
        shift=14. / 128.),
    dict(type='WarpView'),
    dict(type='HSVJitter'),
]
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='MultiViewWithGeometry', num_views=2, transforms=view_pipeline),
    dict(type='PackPeCLRInputs'),
]

model = dict(
    type='PeCLR',
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN')),
    neck=dict(
        type='mmpretrain.NonLinearNeck',
        in_channels=512,
        hid_channels=512,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True,
        # SyncBN (the neck's default) needs GPUs once distributed.
        norm_cfg=dict(type='BN1d')),
    temperature=0.5,
    equivariant=True)

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FreiHand3DDataset',
        data_root=data_root,
        split='training',
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='LARSAdam', lr=1e-4 * batch_size**0.5, weight_decay=1e-6),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
