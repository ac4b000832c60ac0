# CPU-sized PeCLR pretraining on the embedded synthetic set. Differs from the
# paper (configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py) only in
# size: ResNet-18's stem and first two stages (the encoder the demo
# fine-tunes,
# configs/hand25d/hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py)
# instead of ResNet-50, 64 px views instead of 128, batch 32 without gradient
# accumulation, one epoch with a 50-step warm-up; Adam-LARS, lr scaled by
# sqrt(batch) as in the paper, temperature 0.5, the same augmentations.
# bfloat16 autocast and channels-last, data loaded in the main process (CPU
# speed, see tools/benchmarks/README.md).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/peclr_pipeline.py',
    '../_base_/models/resnet18_2stage.py'
]

data_root = 'data/synthetic_freihand'
view_size = 64
batch_size = 32
max_epochs = 1
# the paper's views (_base_/peclr_pipeline.py) at 64 px
view_pipeline = [
    dict(_base_.view_pipeline[0], input_size=view_size),
    *_base_.view_pipeline[1:]
]
train_pipeline = [
    _base_.train_pipeline[0],
    dict(_base_.train_pipeline[1], transforms=view_pipeline),
    *_base_.train_pipeline[2:]
]

model = dict(
    type='PeCLR',
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=_base_.resnet18_2stage,
    neck=dict(
        type='mmpretrain.NonLinearNeck',
        in_channels=128,
        hid_channels=512,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True,
        # SyncBN (the neck's default) needs GPUs once distributed.
        norm_cfg=dict(type='BN1d')),
    head=dict(
        type='EquivariantContrastiveHead', temperature=0.5, equivariant=True))

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FreiHand3DDataset',
        data_root=data_root,
        split='training',
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='BF16OptimWrapper',
    optimizer=dict(
        type='LARSAdam', lr=1e-4 * batch_size**0.5, weight_decay=1e-6),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=2))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='ChannelsLastHook'),
    dict(type='RandomStateHook')
]
