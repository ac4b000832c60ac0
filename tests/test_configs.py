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
    if "_base_" not in p)


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
