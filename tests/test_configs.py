# Copyright (c) peclr_mm authors. All rights reserved.
"""Every shipped config parses, builds its model and names only registered
transforms, datasets, metrics and hooks."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS

import peclr_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(ROOT, "configs", "**", "*.py"), recursive=True)
    if "_base_" not in p and "benchmarks" not in p)


def _transforms(pipeline):
    for t in pipeline or []:
        if isinstance(t, (list, tuple)):  # one pipeline per view
            yield from _transforms(t)
            continue
        yield t['type']
        yield from _transforms(t.get('transforms'))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    init_default_scope('mmpose')
    cfg = Config.fromfile(path)
    if 'init_cfg' in cfg.model.get('backbone', {}):
        cfg.model.backbone.init_cfg = None  # no checkpoint needed to build
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not loader:
            continue
        dataset = loader['dataset']
        datasets = dataset.get('datasets', [dataset])
        for ds in datasets:
            assert DATASETS.get(ds['type']) is not None, ds['type']
            for t in _transforms(ds.get('pipeline')):
                assert TRANSFORMS.get(t) is not None, (name, t)
    for name in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(name)
        if ev:
            assert METRICS.get(ev['type']) is not None, ev['type']
    for hook in cfg.get('custom_hooks', []):
        assert HOOKS.get(hook['type']) is not None, hook['type']


@pytest.mark.parametrize(
    'path',
    sorted(glob.glob(osp.join(ROOT, 'configs', 'benchmarks', '*.py'))),
    ids=osp.basename)
def test_benchmark_budget_names_existing_configs(path):
    """Each reproduction budget parses, names configs that exist, and its
    pretraining changes apply to both methods' configs."""
    from tools.benchmarks.reproduce_claim import load_budget
    b = load_budget(path)
    for kind in ('peclr', 'simclr'):
        cfg = Config.fromfile(osp.join(ROOT, b.pretrain.configs[kind]))
        cfg.merge_from_dict(b.pretrain.get('cfg_options', {}))
        assert cfg.model.head.equivariant is (kind == 'peclr')
    # similar-hand encoders: their config weights by pose, their pairs'
    # source is known, a pseudo-labeller is pretrained before them
    encoders = list(b.pretrain.configs)
    for kind, spec in b.pretrain.get('similar', {}).items():
        cfg = Config.fromfile(osp.join(ROOT, b.pretrain.configs[kind]))
        assert cfg.model.head.pose_weighting == 'linear'
        assert spec['poses'] in ('truth', 'pseudo')
        if spec['poses'] == 'pseudo':
            pl = b.pseudo_labels
            assert encoders.index(pl.encoder) < encoders.index(kind)
            assert pl.fraction in b.fractions and pl.seed in b.seeds
    for challenger, incumbent in b.get('compare', []):
        assert {challenger, incumbent} <= set(encoders) | {'random'}
    assert osp.isfile(osp.join(ROOT, b.downstream_config))
    assert all(0 < f <= 1 for f in b.fractions) and b.seeds
    assert b.probe_iters > 0 and b.finetune_iters > 0
