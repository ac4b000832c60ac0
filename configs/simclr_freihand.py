# The SimCLR ablation of the paper: the same model, data, augmentations and
# schedule as configs/peclr_freihand.py with the equivariant step switched
# off (invariant to rotation and translation).
_base_ = ['./peclr_freihand.py']

model = dict(equivariant=False)
