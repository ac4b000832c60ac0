# The reproduction at a GPU budget (about 25 minutes on one H100): ResNet-50
# at 128 px, the paper's recipe scaled to 20000 synthetic hands.
data = dict(num_train=20000, num_eval=2000, versions=1, seed=123)
input_size = 128
pretrain = dict(
    configs=dict(
        peclr='configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py',
        simclr='configs/simclr/simclr_resnet50_1xb128-100e_freihand-128.py'),
    max_epochs=20,
    warmup_iters=200)
downstream_config = ('configs/hand25d/'
                     'hand25d_resnet50-peclr_1xb64-100e_freihand-128.py')
probe_iters = 3000
finetune_iters = 3000
ridge = dict(num_eval=2000, lambdas=[1., 10., 100., 1000.])
fractions = [0.01, 0.05, 0.2, 1.0]
seeds = [0, 1, 2]
