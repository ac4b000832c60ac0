# The SimCLR ablation of the CPU demo (peclr_resnet18_demo_synthetic.py)
_base_ = ['./peclr_resnet18_demo_synthetic.py']

model = dict(equivariant=False)
