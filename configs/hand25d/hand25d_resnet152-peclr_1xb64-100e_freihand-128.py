# Fine-tune the PeCLR ResNet-152 encoder with the 2.5-D head on FreiHAND.
_base_ = ['../_base_/hand25d_freihand.py']

pretrained = 'work_dirs/peclr_resnet152_freihand/epoch_100.pth'
model = dict(backbone=dict(depth=152, init_cfg=dict(checkpoint=pretrained)))
