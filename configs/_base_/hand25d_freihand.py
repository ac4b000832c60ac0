# 2.5-D fine-tuning on FreiHAND (the part of PeCLR whose code was never
# released). The view is the whole 224 px FreiHAND image resized to
# `input_size`, augmented by the same affine-tracking transforms as
# pretraining (one warp; K composed with it); the head predicts crop-pixel
# uv, scale-normalised relative depth and the root depth (closed form +
# refinement), decoded to camera-space metres with K_crop and the bone
# length that FreiHAND provides for every sample.
_base_ = ['./default_runtime.py']

data_root = 'data/freihand'
input_size = 128
batch_size = 64
max_epochs = 100
lr = 1e-3
pretrained = 'work_dirs/peclr_freihand/epoch_100.pth'

codec = dict(
    type='Hand25DCodec',
    input_size=(input_size, input_size),
    root='palm',
    ref_bone=(9, 10))

model = dict(
    type='TopdownHand3DEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(
        type='Hand25DHead', in_channels=2048, hidden_dims=(), codec=codec),
    test_cfg=dict())

train_pipeline = [
    dict(type='LoadHandImage'),
    dict(type='HandCanonicalCrop', input_size=input_size, source='image'),
    dict(
        type='RandomSimilarity',
        rotate=30.,
        margin_range=(0.85, 1.15),
        shift=0.05),
    dict(type='WarpView'),
    dict(type='HSVJitter', prob=0.5),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackHand3DInputs'),
]
test_pipeline = [
    dict(type='LoadHandImage'),
    dict(type='HandCanonicalCrop', input_size=input_size, source='image'),
    dict(type='WarpView'),
    dict(type='PackHand3DInputs'),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='FreiHand3DDataset',
        data_root=data_root,
        split='training',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FreiHand3DDataset',
        data_root=data_root,
        split='evaluation',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# every validation shows the model beside the mean pose of the training set:
# the training labels of the evaluated images' root (`--cfg-options
# test_dataloader.dataset.data_root=OTHER` moves both)
val_evaluator = dict(type='FreiHand3DMetric', mean_pose=dict())
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='Adam', lr=lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=200),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(save_best='freihand/PA-EPE', rule='less', interval=10))
