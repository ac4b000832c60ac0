# ResNet-18's stem and first two stages (128 channels at stride 8), the
# encoder of the CPU demo: at 64 px the stride-8 stage already sees the whole
# crop, and the two later stages cost 40 % of a step. Residual branches are
# not zero-initialised: with four residual blocks, zero-initialised branches
# (the default) start the encoder as a near-linear stem and slow learning
# (docs/results/finetune_recipes.md).
resnet18_2stage = dict(
    type='ResNet',
    depth=18,
    num_stages=2,
    strides=(1, 2),
    dilations=(1, 1),
    out_indices=(1, ),
    zero_init_residual=False,
    norm_cfg=dict(type='BN'))
