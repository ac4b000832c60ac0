# The test suite's check that projects/reproduction/reproduce_claim.py runs end
# to end (seconds): every stage, one fraction, one seed; two pretraining
# epochs, both evaluated, with cross-version views and the image cache.
data = dict(num_train=48, num_eval=16, versions=1, seed=123)
input_size = 32
pretrain = dict(
    configs=dict(
        peclr='configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py',
        simclr='configs/simclr/'
        'simclr_resnet18-2stage_1xb32-1e_synthetic-64.py'),
    max_epochs=2,
    eval_epochs=[1, 2],
    cross_version=True,
    cache_mib=16,
    warmup_iters=1)
downstream_config = ('configs/hand25d/'
                     'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')
probe_iters = 2
finetune_iters = 2
ridge = dict(num_eval=16, lambdas=[1., 100.])
fractions = [0.5]
seeds = [0]
latent = dict(num=8, gallery=16)
