# PeCLR with ResNet-152 on FreiHAND + YouTube3DHands (the recipe of the
# authors' released peclr_rn152 encoder); otherwise
# configs/peclr/peclr_resnet50_1xb128-100e_freihand-youtube3d-128.py.
_base_ = ['./peclr_resnet50_1xb128-100e_freihand-youtube3d-128.py']

model = dict(backbone=dict(depth=152))
