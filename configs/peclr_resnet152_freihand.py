# PeCLR pretraining with ResNet-152 (the paper's larger model); otherwise
# configs/peclr_freihand.py.
_base_ = ['./peclr_freihand.py']

model = dict(backbone=dict(depth=152))
