# The CPU demo's PeCLR pretraining on the synthetic renders and a folder of
# real, unlabeled hands (tools/dataset_converters/hand_photos.py writes one
# from any photos and videos), mixed in every batch by the balanced sampler
# as the paper mixes FreiHAND and YouTube3DHands. ``real_share`` is the
# expected share of real hands in a batch; an epoch draws as many samples
# as the renders hold (the same compute as the renders-only demo), with
# replacement. Everything else is the renders-only demo's
# (peclr_resnet18-2stage_1xb32-1e_synthetic-64.py).
_base_ = ['./peclr_resnet18-2stage_1xb32-1e_synthetic-64.py']

real_root = 'data/real_hands'
real_share = 0.5
num_samples = 10000

train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='BalancedSourceSampler',
        num_samples=num_samples,
        source_weights=[1 - real_share, real_share]),
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
                type='HandImageFolder',
                data_root=real_root,
                box_file='boxes.json',
                pipeline={{_base_.train_pipeline}}),
        ]))
