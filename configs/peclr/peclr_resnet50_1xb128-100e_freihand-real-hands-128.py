# PeCLR at the paper's scale on FreiHAND + a folder of real, unlabeled hands
# (tools/dataset_converters/hand_photos.py writes one from any photos and
# videos), beside the paper's FreiHAND + YouTube3DHands
# (peclr_resnet50_1xb128-100e_freihand-youtube3d-128.py). Both sources
# unlabeled, mixed in each batch by the balanced sampler with ``real_share``
# real hands on average (0.5: the paper's about 50/50), an epoch as long as
# FreiHAND's training split.
_base_ = ['./peclr_resnet50_1xb128-100e_freihand-128.py']

real_root = 'data/real_hands'
real_share = 0.5

train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='BalancedSourceSampler',
        num_samples=130240,
        source_weights=[1 - real_share, real_share]),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[
            dict(
                type='FreiHand3DDataset',
                data_root={{_base_.data_root}},
                split='training',
                pipeline={{_base_.train_pipeline}}),
            dict(
                type='HandImageFolder',
                data_root=real_root,
                box_file='boxes.json',
                pipeline={{_base_.train_pipeline}}),
        ]))
