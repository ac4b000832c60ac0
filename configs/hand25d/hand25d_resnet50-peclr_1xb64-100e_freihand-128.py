# Fine-tune the PeCLR ResNet-50 encoder
# (configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py) with the 2.5-D
# head on FreiHAND. Set `pretrained` (or --cfg-options
# model.backbone.init_cfg.checkpoint=...) to the pretraining checkpoint; a
# converted release checkpoint (tools/convert_peclr_weights.py) needs
# prefix='backbone.' as well.
_base_ = ['../_base_/hand25d_freihand.py']
