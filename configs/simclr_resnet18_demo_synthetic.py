# The SimCLR ablation of the CPU demo (configs/peclr_resnet18_demo_synthetic.py)
_base_ = ['./peclr_resnet18_demo_synthetic.py']

model = dict(equivariant=False)
