# reproduce_cpu_versions.py with five pretraining epochs instead of three
# (the ridge probe of PeCLR's pooled features at 2000 labels: 0.829 / 0.810
# of the mean's error after three, 0.801 / 0.798 after five;
# docs/results/pretrain_probe.md). About 56 minutes on 2 cores
# (docs/results/reproduce_cpu_versions_5e.md: the two methods equal).
_base_ = ['./reproduce_cpu_versions.py']
pretrain = dict(max_epochs=5)
