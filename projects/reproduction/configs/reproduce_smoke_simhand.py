# The test suite's check of the similar-hand encoders in the reproduction
# (seconds): the smoke budget's folder and schedule, stopped after its first
# epoch, with similar-hand pretraining on pairs mined from the true poses
# and from the pseudo-labels of PeCLR's fine-tuned encoder.
_base_ = ['./reproduce_smoke.py']
work_name = 'smoke'
simhand = 'configs/simhand/simhand_resnet18-2stage_1xb32-1e_synthetic-64.py'
pretrain = dict(
    eval_epochs=[1],
    configs=dict(simhand=simhand, simhand_pseudo=simhand),
    similar=dict(
        simhand=dict(poses='truth', k=4),
        simhand_pseudo=dict(poses='pseudo', k=4)),
    # one encoder's own change: the unweighted loss
    encoder_options=dict(
        simhand_pseudo=dict(model=dict(head=dict(pose_weighting=None)))))
pseudo_labels = dict(encoder='peclr', fraction=0.5, seed=0)
modes = ['finetune']
compare = [('simhand', 'peclr'), ('simhand_pseudo', 'peclr')]
latent = None  # the smoke budget's test covers it
