# The reproduction on a 2-core CPU, about two hours
# (docs/results/reproduce_cpu.md): 20000 synthetic hands, PeCLR and SimCLR
# pretrained identically (the demo encoder: ResNet-18 cut after two stages,
# 64 px), then random / SimCLR / PeCLR encoders probed (frozen encoder,
# trained heatmap head; and the closed-form ridge probe of pooled features)
# and fine-tuned on 1, 5, 20 and 100 % of the labels, 3 seeds each.
data = dict(num_train=20000, num_eval=500, versions=1, seed=123)
input_size = 64
pretrain = dict(
    configs=dict(
        peclr='configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py',
        simclr='configs/simclr/'
        'simclr_resnet18-2stage_1xb32-1e_synthetic-64.py'),
    max_epochs=3,
    warmup_iters=50,
    # NT-Xent temperature 0.2 instead of the paper's 0.5 for both methods:
    # the ridge probe of PeCLR's pooled features after one epoch reads
    # uv / z_rel at 0.931 / 0.907 of the mean's error with 0.2, 0.956 /
    # 0.920 with 0.5 (docs/results/pretrain_probe.md)
    cfg_options=dict(model=dict(head=dict(temperature=0.2))))
downstream_config = ('configs/hand25d/'
                     'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')
probe_iters = 500
finetune_iters = 600
ridge = dict(num_eval=500, lambdas=[1., 10., 100., 1000.])
fractions = [0.01, 0.05, 0.2, 1.0]
seeds = [0, 1, 2]
