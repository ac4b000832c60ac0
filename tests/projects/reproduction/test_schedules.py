# Copyright (c) peclr_mm authors. All rights reserved.
"""The study's schedules and similar-hand pairs, edits of shipped
configs."""


def test_an_early_stop_keeps_the_whole_schedule():
    """Stopping after epoch 3 of 20 trains 3 epochs on the 20-epoch cosine
    (so a later run resumed to 20 continues the same schedule), keeping
    every epoch's checkpoint."""
    import pytest
    from mmengine.config import Config

    from projects.reproduction.schedules import set_epoch_budget
    cfg = Config(dict(default_hooks=dict(logger=dict(interval=10))))
    set_epoch_budget(cfg, 20, 50, stop_epoch=3)
    assert cfg.train_cfg.max_epochs == 3
    cosine = cfg.param_scheduler[1]
    assert cosine['end'] == 20 and cosine['T_max'] == 20
    assert cfg.default_hooks.checkpoint.interval == 1
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == -1
    full = Config(dict(default_hooks=dict(logger=dict(interval=10))))
    set_epoch_budget(full, 20, 50)
    assert full.param_scheduler == cfg.param_scheduler
    assert full.train_cfg.max_epochs == 20
    assert full.default_hooks.checkpoint.interval == 20
    for bad in (0, 21):
        with pytest.raises(ValueError, match='stop_epoch'):
            set_epoch_budget(cfg, 20, stop_epoch=bad)


def test_similar_hands_file_reaches_both_views():
    import os.path as osp

    import pytest
    from mmengine.config import Config

    from projects.reproduction.schedules import set_similar_hands
    root = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    cfg = Config.fromfile(
        osp.join(root, 'configs', 'simhand',
                 'simhand_resnet18-2stage_1xb32-1e_synthetic-64.py'))
    set_similar_hands(cfg, '/data/sim.npz', k=4, cache_mib=64)
    views = cfg.train_dataloader.dataset.pipeline[0].transforms
    assert [v[0].type for v in views] == ['LoadSimilarHand'] * 2
    assert [v[0].partner for v in views[:1]] == [False]
    assert all(v[0].similar_file == '/data/sim.npz' for v in views)
    assert all(v[0].cache_mib == 64 for v in views)
    assert 'k' not in views[0][0] and views[1][0].k == 4
    peclr = Config.fromfile(
        osp.join(root, 'configs', 'peclr',
                 'peclr_resnet18-2stage_1xb32-1e_synthetic-64.py'))
    with pytest.raises(ValueError, match='LoadSimilarHand'):
        set_similar_hands(peclr, '/data/sim.npz')
