# Similar-hand pretraining, SiMHand's recipe (Lin et al., ICLR 2025) on
# FreiHAND's images: ResNet-50, 128 x 128 views, PeCLR's optimisation
# (configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py: Adam wrapped
# LARS-style, lr 1e-4 * sqrt(batch), weight decay 1e-6, 10 warm-up epochs
# then cosine to 100, T = 0.5, projection 2048 -> 512 -> 128 read as 64
# latent 2-D points) and augmentations (crop margin 0.9-1.5, rotation
# +-45 deg, shift, HSV jitter, each view's geometry undone in the latent
# space). What differs from PeCLR:
# - view 2 is a different image whose hand has a 2-D pose among the k = 8
#   most alike of view 1's (LoadSimilarHand; mine them first with
#   python tools/mine_similar_hands.py --data data/freihand, from the
#   ground truth, or --keypoints PSEUDO.json from any 2-D model's labels,
#   the realistic case for unlabelled images);
# - the NT-Xent similarities are weighted by the pairs' 2-D pose distances
#   before the exponential, linearly over the batch (pose_weighting='linear';
#   SiMHand's get_weights_linear).
# Knobs that differ from the SiMHand release, and why:
# - the distances are of wrist-centred, palm-normalised 2-D joints (the
#   descriptor the pairs are mined with), not of crop pixels, so a pair's
#   weight does not depend on how each view happened to be cropped;
# - view 2 is a random one of the k nearest, not always the nearest, and
#   each view a random version of its FreiHAND image;
# - ImageNet initialisation is left to the user (init_cfg), as in our PeCLR
#   configs; SiMHand starts from ImageNet weights;
# - the batch: SiMHand trains 8192 images per step on 8 GPUs; here
#   128 x 16 accumulated = 2048 as PeCLR (the weights are computed per
#   step of 128, the batch of one forward pass).
_base_ = ['../peclr/peclr_resnet50_1xb128-100e_freihand-128.py']

data_root = 'data/freihand'
similar_file = f'{data_root}/similar_hands_training_k8.npz'
view_pipeline = _base_.view_pipeline
train_pipeline = [
    dict(
        type='MultiViewWithGeometry',
        transforms=[
            [
                dict(
                    type='LoadSimilarHand',
                    similar_file=similar_file,
                    partner=False), *view_pipeline
            ],
            [
                dict(type='LoadSimilarHand', similar_file=similar_file, k=8),
                *view_pipeline
            ],
        ]),
    dict(type='PackPeCLRInputs'),
]
# the weights and negatives are per process (as in SiMHand's data-parallel
# replicas): the weighted loss is not gathered across GPUs
model = dict(head=dict(pose_weighting='linear', gather_distributed=False))
train_dataloader = dict(
    dataset=dict(data_root=data_root, versions=[0], pipeline=train_pipeline))
