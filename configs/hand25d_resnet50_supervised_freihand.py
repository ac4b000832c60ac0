# The supervised baseline: the same network and schedule as
# configs/hand25d_resnet50_peclr_freihand.py from a random initialisation.
_base_ = ['./_base_/hand25d_freihand.py']

model = dict(backbone=dict(init_cfg=None))
