# The SimCLR ablation of the CPU demo (peclr_resnet18_demo_synthetic.py)
_base_ = ['../peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py']

model = dict(head=dict(equivariant=False))
