# The supervised baseline: the same network and schedule as
# configs/hand25d/hand25d_resnet50-peclr_1xb64-100e_freihand-128.py from a
# random initialisation.
_base_ = ['../_base_/hand25d_freihand.py']

model = dict(backbone=dict(init_cfg=None))
