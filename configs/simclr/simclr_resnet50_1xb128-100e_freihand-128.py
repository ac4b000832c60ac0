# The SimCLR ablation of the paper: the same model, data, augmentations and
# schedule as configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py with
# the equivariant step switched off (invariant to rotation and translation).
_base_ = ['../peclr/peclr_resnet50_1xb128-100e_freihand-128.py']

model = dict(head=dict(equivariant=False))
