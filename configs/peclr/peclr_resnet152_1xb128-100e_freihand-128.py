# PeCLR pretraining with ResNet-152 (the paper's larger model); otherwise
# configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py.
_base_ = ['./peclr_resnet50_1xb128-100e_freihand-128.py']

model = dict(backbone=dict(depth=152))
