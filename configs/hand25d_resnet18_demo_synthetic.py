# CPU-sized fine-tuning on the embedded synthetic set, starting from the
# demo pretraining (configs/peclr_resnet18_demo_synthetic.py): ResNet-18,
# 64 px crops, 8 epochs, evaluated on the synthetic evaluation split.
_base_ = ['./_base_/hand25d_freihand.py']

data_root = 'data/synthetic_freihand'
input_size = 64
batch_size = 32
max_epochs = 8
pretrained = 'work_dirs/demo/pretrain/epoch_4.pth'

codec = dict(
    type='Hand25DCodec',
    input_size=(input_size, input_size),
    root='palm',
    ref_bone=(9, 10))
model = dict(
    backbone=dict(depth=18, init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=512, codec=codec))

train_pipeline = [
    dict(type='LoadImage'),
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
    dict(type='LoadImage'),
    dict(type='HandCanonicalCrop', input_size=input_size, source='image'),
    dict(type='WarpView'),
    dict(type='PackHand3DInputs'),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='FreiHand3DMetric', mean_pose=dict(data_root=data_root))
test_evaluator = val_evaluator
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
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=2))
