# The SimCLR ablation of the demo's pretraining on renders + real hands
# (../peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-real-hands-64.py)
_base_ = ['../peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-real-hands-64.py']

model = dict(head=dict(equivariant=False))
