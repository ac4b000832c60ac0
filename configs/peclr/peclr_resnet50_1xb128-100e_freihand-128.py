# PeCLR pretraining, the paper's recipe (Spurr et al., ICCV 2021):
# ResNet-50, 128 x 128 views, batch 128 with gradient accumulation to 2048,
# Adam wrapped LARS-style, lr 1e-4 * sqrt(2048), weight decay 1e-6 except
# biases and normalisation parameters, 10 warm-up epochs then cosine to 100
# epochs, mixed precision where a GPU exists, NT-Xent at T = 0.5 on 64 latent
# 2-D points (projection 2048 -> 512 -> 128).
#
# Knobs that differ from the released code, and why:
# - the crop is composed into one warp (the released code rotates, crops and
#   resizes: three resamplings); the geometry is identical, the pixels are
#   sharper and the pipeline is about twice as fast;
# - negatives are gathered across processes (the released code trained on a
#   single GPU, where this makes no difference).
_base_ = ['../_base_/default_runtime.py', '../_base_/peclr_pipeline.py']

data_root = 'data/freihand'
batch_size = 128
accumulate = 16  # 128 x 16 = 2048 images per update
max_epochs = 100
warmup_epochs = 10
amp_on_gpu = True

model = dict(
    type='PeCLR',
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN')),
    neck=dict(
        type='mmpretrain.NonLinearNeck',
        in_channels=2048,
        hid_channels=512,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True),
    head=dict(
        type='EquivariantContrastiveHead',
        temperature=0.5,
        equivariant=True,
        scale_aware=False))

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FreiHand3DDataset',
        data_root=data_root,
        split='training',
        pipeline={{_base_.train_pipeline}}))

optim_wrapper = dict(
    type='OptimWrapper',
    accumulative_counts=accumulate,
    optimizer=dict(
        type='LARSAdam',
        lr=1e-4 * (batch_size * accumulate)**0.5,
        weight_decay=1e-6),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=10, max_keep_ckpts=3))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
