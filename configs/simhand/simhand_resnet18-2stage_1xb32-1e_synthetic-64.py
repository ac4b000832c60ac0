# CPU-sized similar-hand pretraining (SiMHand's positives with PeCLR's
# equivariant step) on the embedded synthetic set: the PeCLR CPU config
# (configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py) with one
# change to the data and one to the loss. View 2 of a pair is a different
# hand whose 2-D pose is among the k=8 most alike of view 1's
# (LoadSimilarHand, the file of tools/mine_similar_hands.py); each view is a
# random version of its image, cropped around its own hand and augmented as
# in PeCLR, its geometry recorded and undone in the latent space. The
# NT-Xent similarities are weighted by the pairs' 2-D pose distances
# (pose_weighting='linear'). Mine the pairs first:
#   python tools/mine_similar_hands.py --data data/synthetic_freihand
_base_ = ['../peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py']

data_root = 'data/synthetic_freihand'
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
model = dict(head=dict(pose_weighting='linear'))
# one listed version per hand: each view draws its own
train_dataloader = dict(
    dataset=dict(data_root=data_root, versions=[0], pipeline=train_pipeline))
