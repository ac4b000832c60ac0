# Copyright (c) peclr_mm authors. All rights reserved.
"""Shared fixtures: the mmpose default scope and a small synthetic FreiHAND
set written by the project's own generator."""
import os

import pytest
from mmengine.registry import init_default_scope

import peclr_mm  # noqa: F401 (registers every module)

init_default_scope('mmpose')
os.environ.setdefault('OMP_NUM_THREADS', '2')


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """24 training annotations x 2 versions and 8 evaluation images in the
    FreiHAND layout, from the project's generator."""
    from peclr_synthetic import generate_freihand
    root = tmp_path_factory.mktemp('data') / 'synthetic_freihand'
    generate_freihand(str(root), num_train=24, num_eval=8, versions=2, seed=0)
    return str(root)


def _own_visualizer(cfg, work_dir: str) -> None:
    """mmengine reuses a visualizer of the same name, logs included: each
    runner of a test session gets its own, so its json log lands in its own
    work directory."""
    cfg.visualizer['name'] = f'visualizer:{work_dir}'


def tiny_pretrain_cfg(data_root: str, work_dir: str, max_epochs: int = 1):
    """The CPU demo pretraining config, shrunk to seconds."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        os.path.join(
            os.path.dirname(os.path.dirname(__file__)), 'configs', 'peclr',
            'peclr_resnet18-2stage_1xb32-1e_synthetic-64.py'))
    cfg.work_dir = work_dir
    _own_visualizer(cfg, work_dir)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.dataset.pipeline[1].transforms[0].input_size = 32
    cfg.train_cfg.max_epochs = max_epochs
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1., by_epoch=True)]
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


def tiny_finetune_cfg(data_root: str,
                      work_dir: str,
                      pretrained: str = None,
                      max_epochs: int = 1,
                      size: int = 32):
    """The CPU demo fine-tuning config, shrunk to seconds."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        os.path.join(
            os.path.dirname(os.path.dirname(__file__)), 'configs', 'hand25d',
            'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py'))
    cfg.work_dir = work_dir
    _own_visualizer(cfg, work_dir)
    cfg.model.head.codec.input_size = (size, size)
    cfg.model.backbone.init_cfg = None if pretrained is None else dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[loader]
        dl.batch_size = 8
        dl.num_workers = 0
        dl.persistent_workers = False
        dl.dataset.data_root = data_root
        for t in dl.dataset.pipeline:
            if t['type'] == 'HandCanonicalCrop':
                t['input_size'] = size
            elif t['type'] == 'GenerateTarget':
                t['encoder']['input_size'] = (size, size)
    cfg.val_evaluator = cfg.test_evaluator = dict(
        type='FreiHand3DMetric', mean_pose=dict(data_root=data_root))
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1., by_epoch=True)]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, save_best=None)
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg
