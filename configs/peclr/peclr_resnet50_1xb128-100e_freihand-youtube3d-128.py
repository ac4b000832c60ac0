# PeCLR on FreiHAND + YouTube3DHands, both unlabeled, mixed about 50/50 by
# the balanced sampler whatever their sizes (the paper's best encoder).
# YouTube3DHands hand boxes come from the 778 MANO vertices; left hands are
# mirrored into right hands by the canonical crop.
_base_ = ['./peclr_resnet50_1xb128-100e_freihand-128.py']

yt3d_root = 'data/youtube3dhands'
train_dataloader = dict(
    sampler=dict(_delete_=True, type='BalancedSourceSampler'),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # the same 21-joint hand metainfo under two names
        ignore_keys=['dataset_name'],
        datasets=[
            dict(
                type='FreiHand3DDataset',
                data_root={{_base_.data_root}},
                split='training',
                pipeline={{_base_.train_pipeline}}),
            dict(
                type='YouTube3DHandsDataset',
                data_root=yt3d_root,
                ann_file='youtube_train.json',
                pipeline={{_base_.train_pipeline}}),
        ]))
