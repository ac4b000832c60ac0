# The PeCLR two-view pipeline with the paper's augmentation ranges.
# The canonical crop is the tight box of the hand (padding 1.0) so that the
# random crop margin of 0.9-1.5 is the paper's box margin (s = 1 / margin).
view_size = 128
view_pipeline = [
    dict(type='HandCanonicalCrop', input_size=view_size, padding=1.0),
    dict(
        type='RandomSimilarity',
        rotate=45.,
        margin_range=(0.9, 1.5),
        shift=14. / 128.),
    dict(type='WarpView'),
    dict(type='HSVJitter'),
]
train_pipeline = [
    dict(type='LoadHandImage'),
    dict(type='MultiViewWithGeometry', num_views=2, transforms=view_pipeline),
    dict(type='PackPeCLRInputs'),
]
