# The CPU reproduction (reproduce_cpu.py) with one change to the pretraining
# of both methods: each view of a pair is drawn from a random one of two
# versions of its hand (same pose, other background and colours;
# LoadRandomVersion), so the pair's shared background no longer tells it
# apart from the others. Not the paper's recipe: a test of why the paper's
# recipe learns little pose on this data (docs/results/pretrain_probe.md).
# The scarce-label fractions of the claim only (1 and 5 %), to fit an hour.
_base_ = ['./reproduce_cpu.py']
data = dict(versions=2)
pretrain = dict(cross_version=True)
fractions = [0.01, 0.05]
