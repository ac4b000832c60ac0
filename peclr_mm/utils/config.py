# Copyright (c) peclr_mm authors. All rights reserved.
"""Edits that the benchmark tools (``tools/benchmarks/``) and the
reproduction study (``projects/reproduction/``) make to a shipped config:
run names, data roots, input size, cross-version views and an iteration
loop.

Not loaded by ``import peclr_mm``; the reproduction study's schedules are
``projects/reproduction/schedules.py``."""
from typing import Optional

__all__ = [
    'name_run', 'set_data_root', 'set_input_size', 'use_cross_version_views',
    'set_iteration_loop'
]


def name_run(cfg, name: str) -> None:
    """Give a run its own mmengine instances, in place.

    mmengine's ``MessageHub`` and ``MMLogger`` are global instances named
    after the experiment (``experiment_name``, by default the config's file
    name, plus a timestamp in seconds), and the visualizer after its
    ``name``. Runs of one config built in the same second in one process
    (the benchmark scripts' short runs, the tests) would share the loss
    history, the log and the visualizer's save folder. Naming each run
    (e.g. after its work dir) keeps them apart.

    Args:
        cfg: an mmengine config; its ``experiment_name`` and, when it has
            a visualizer, ``visualizer.name`` (``'visualizer:NAME'``) are
            set.
        name: the run's name, unique within the process.
    """
    cfg['experiment_name'] = name
    if cfg.get('visualizer') is not None:
        cfg['visualizer']['name'] = f'visualizer:{name}'


def _datasets(dataset):
    """A dataset config and, for a ``ConcatDataset``, its parts."""
    if dataset.get('type') == 'ConcatDataset':
        for d in dataset['datasets']:
            yield from _datasets(d)
    else:
        yield dataset


def set_data_root(cfg,
                  data_root: str,
                  youtube3d: Optional[str] = None,
                  cache_dir: Optional[str] = None) -> None:
    """Point every data set of ``cfg`` at ``data_root``, in place.

    All dataloaders' datasets (through ``ConcatDataset``) and the test
    evaluator's mean pose take ``data_root``; a ``YouTube3DHandsDataset``
    takes ``youtube3d`` (and ``cache_dir``) instead, and is refused without
    it.

    Args:
        cfg: an mmengine config.
        data_root: a FreiHAND-layout root.
        youtube3d: the YouTube3DHands root; needed only when a dataloader
            reads it.
        cache_dir: the YouTube3DHands datasets' ``cache_dir``; ``None``
            keeps the config's.

    Raises:
        ValueError: a dataloader reads YouTube3DHands and ``youtube3d`` is
            ``None``.
    """
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not loader:
            continue
        for d in _datasets(loader['dataset']):
            if d.get('type') == 'YouTube3DHandsDataset':
                if youtube3d is None:
                    raise ValueError(f'{name} reads YouTube3DHands: give its '
                                     'root (youtube3d=...)')
                d['data_root'] = youtube3d
                if cache_dir is not None:
                    d['cache_dir'] = cache_dir
            else:
                d['data_root'] = data_root
    for name in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(name)
        if isinstance(evaluator, dict) and isinstance(
                evaluator.get('mean_pose'), dict):
            evaluator['mean_pose']['data_root'] = data_root


def set_input_size(cfg_or_pipeline, size: int) -> None:
    """Set the crop/view size everywhere it appears, in place.

    Takes a config (its model's codec and its dataloaders' pipelines) or a
    single pipeline (a list of transform dicts). ``HandCanonicalCrop``'s
    ``input_size``, ``GenerateTarget``'s codec and the transforms inside
    ``MultiViewWithGeometry`` follow.

    Args:
        cfg_or_pipeline: an mmengine config, or a list (or tuple) of
            transform dicts.
        size: the side of the square crop in pixels.
    """
    if isinstance(cfg_or_pipeline, (list, tuple)):
        for t in cfg_or_pipeline:
            if isinstance(t, (list, tuple)):  # one pipeline per view
                set_input_size(t, size)
                continue
            if t['type'] == 'HandCanonicalCrop':
                t['input_size'] = size
            if t['type'] == 'GenerateTarget':
                t['encoder']['input_size'] = (size, size)
            if t['type'] == 'MultiViewWithGeometry':
                set_input_size(t['transforms'], size)
        return
    cfg = cfg_or_pipeline
    codec = cfg.get('model', {}).get('head', {}).get('codec')
    if codec is not None:
        codec['input_size'] = (size, size)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader:
            set_input_size(loader['dataset']['pipeline'], size)


def use_cross_version_views(cfg, cache_mib: float = 0.) -> None:
    """Make a pretraining config draw each view from a random version of its
    hand, in place.

    ``LoadRandomVersion`` goes first in every ``MultiViewWithGeometry``'s
    view pipeline, and the decoding of the listed version before the views
    (a ``LoadHandImage`` ahead of them) is dropped, since every view decodes
    its own. The dataset then lists version 0 only, so an epoch visits each
    hand once, as many steps as a one-version set.

    Args:
        cfg: a pretraining config.
        cache_mib: memory for the views' decoded images, MiB
            (``LoadHandImage``'s cache); 0 keeps none.
    """
    dataset = cfg['train_dataloader']['dataset']
    views = [
        t for t in dataset['pipeline'] if t['type'] == 'MultiViewWithGeometry'
    ]
    if not views:
        raise ValueError('use_cross_version_views: the train pipeline has '
                         'no MultiViewWithGeometry (not a pretraining '
                         'config?)')
    for t in views:
        if t['transforms'][0]['type'] != 'LoadRandomVersion':
            t['transforms'].insert(0, dict(type='LoadRandomVersion'))
        if cache_mib:
            t['transforms'][0]['cache_mib'] = cache_mib
    if all(t['transforms'][0].get('prob', 1.) == 1. for t in views):
        dataset['pipeline'] = [
            t for t in dataset['pipeline'] if t['type'] != 'LoadHandImage'
        ]
    dataset['versions'] = [0]


def set_iteration_loop(cfg, iters: int, checkpoint_interval: int,
                       log_interval: int) -> None:
    """Make ``cfg`` an iteration run of ``iters`` iterations, in place.

    No validation (mmengine's iteration loop would validate at
    ``max_iters`` whatever its interval), iteration-based logging, and a
    checkpoint every ``checkpoint_interval`` iterations of which the last
    is kept; the sampler and the schedule stay the config's.

    Args:
        cfg: an mmengine config.
        iters: ``train_cfg.max_iters``.
        checkpoint_interval: iterations between checkpoints.
        log_interval: iterations between log lines.
    """
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.log_processor = dict(cfg.get('log_processor', {}), by_epoch=False)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=checkpoint_interval,
        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        cfg.default_hooks.get('logger', {}),
        type='LoggerHook',
        interval=log_interval)
