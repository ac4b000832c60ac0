# Similar-hand positives (SiMHand, Lin et al., ICLR 2025) against PeCLR,
# SimCLR and random init on the scaling study's data and schedule
# (reproduce_cpu_versions_20e.py: 20000 hands x 4 versions, 64 px, the
# 2-stage ResNet-18, cross-version views for PeCLR and SimCLR), in its
# folder: every encoder is taken after 3 epochs of the same 20-epoch
# cosine schedule, so PeCLR's and SimCLR's checkpoints and their downstream
# runs are the study's own (reused, whichever budget runs first).
# Similar-hand encoders (configs/simhand/, PeCLR's equivariance kept), each
# view 2 a random one of the k = 8 nearest hands in 2-D pose:
# - simhand: pairs mined from the generator's true 2-D poses (the upper
#   bound), the loss weighted by the pairs' pose distances as SiMHand;
# - simhand_nw: the same pairs, the loss not weighted (at batch 32 the
#   weighted loss drove every similarity, negatives' too, to 0.9 within two
#   epochs: the weights make a collapsed latent cheaper than NT-Xent does);
# - simhand_pseudo_nw: unweighted, pairs mined from the 2-D predictions of
#   PeCLR's encoder fine-tuned on the 1 % labeled subset of seed 0 (200
#   labels: the realistic case, no more labels than the smallest fraction;
#   that run is the table's own fine-tuning run).
# Fine-tuning and the ridge probe only (SiMHand's protocol is fine-tuning),
# 1 and 5 % labels, 3 seeds.
_base_ = ['./reproduce_cpu_versions_20e.py']
work_name = 'cpu_versions_20e'
simhand = 'configs/simhand/simhand_resnet18-2stage_1xb32-1e_synthetic-64.py'
unweighted = dict(model=dict(head=dict(pose_weighting=None)))
pretrain = dict(
    eval_epochs=[3],
    configs=dict(
        simhand=simhand, simhand_nw=simhand, simhand_pseudo_nw=simhand),
    similar=dict(
        simhand=dict(poses='truth', k=8),
        simhand_nw=dict(poses='truth', k=8),
        simhand_pseudo_nw=dict(poses='pseudo', k=8)),
    encoder_options=dict(simhand_nw=unweighted, simhand_pseudo_nw=unweighted))
pseudo_labels = dict(encoder='peclr', fraction=0.01, seed=0)
modes = ['finetune']
compare = [('simhand', 'peclr'), ('simhand_nw', 'peclr'),
           ('simhand_pseudo_nw', 'peclr'), ('simhand_nw', 'simhand'),
           ('simhand_pseudo_nw', 'simhand_nw')]
