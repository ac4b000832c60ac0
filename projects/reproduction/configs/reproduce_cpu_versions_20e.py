# The scaling study: reproduce_cpu_versions.py (20000 hands x 4 versions,
# cross-version positives for both methods, 64 px, the 2-stage ResNet-18)
# pretrained for 20 epochs, one cosine schedule per method, its checkpoints
# after 3, 10 and 20 epochs evaluated (points of one schedule, not separate
# runs). The views' decoded images are kept in memory (8 GiB of the
# 80000 images' 11.2 GiB).
_base_ = ['./reproduce_cpu_versions.py']
pretrain = dict(max_epochs=20, eval_epochs=[3, 10, 20], cache_mib=8192)
# the study spans sessions: its evaluated encoders, the unfinished
# schedule's checkpoint and every run's record are kept outside its work
# folder, and outside git (projects/reproduction/reproduce_state.py;
# --state overrides)
state = 'work_dirs/reproduce_state/cpu_versions_20e'
# the mechanism on every checkpoint: equivariance error, rotation read-out,
# retrieval (projects/reproduction/analysis/equivariance.py)
latent = dict(num=200, gallery=5000)
# fine-tuning before the frozen-encoder probe at each checkpoint: the
# claim's fine-tuning cells come first (the order only; every run is kept
# in its own folder and reused)
modes = ['finetune', 'probe']
