# Copyright (c) peclr_mm authors. All rights reserved.
"""Short runs counted in iterations, as the benchmark scripts train them."""
from typing import Dict, Sequence

import numpy as np

__all__ = ['set_iteration_budget', 'set_epoch_budget', 'loss_first_last']


def set_iteration_budget(cfg, iters: int, warmup: int = 50) -> None:
    """Make ``cfg`` train for ``iters`` iterations and stop.

    An infinite shuffling sampler (a small labelled subset is then not
    reloaded every few batches), no validation, linear warm-up over
    ``min(warmup, iters)`` iterations then cosine decay to the end, one
    checkpoint at the end and a log line every 50 iterations.
    """
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.train_cfg = dict(by_epoch=False, max_iters=iters, val_interval=iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.log_processor = dict(cfg.get('log_processor', {}), by_epoch=False)
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=1e-2,
            by_epoch=False,
            begin=0,
            end=min(warmup, iters)),
        dict(
            type='CosineAnnealingLR',
            T_max=iters,
            by_epoch=False,
            begin=0,
            end=iters)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=iters,
        max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50


def set_epoch_budget(cfg, epochs: int, warmup: int = 50) -> None:
    """Make ``cfg`` train for ``epochs`` epochs: linear warm-up over
    ``warmup`` iterations, then cosine decay (per iteration) to the last
    epoch, one checkpoint at the end, a log line every 50 iterations."""
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=1e-3,
            by_epoch=False,
            begin=0,
            end=warmup),
        dict(
            type='CosineAnnealingLR',
            T_max=epochs,
            by_epoch=True,
            begin=0,
            end=epochs,
            convert_to_iter_based=True)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50


def loss_first_last(
    message_hub, keys: Sequence[str] = ('loss_uv', 'loss_zrel', 'loss_zroot')
) -> Dict[str, float]:
    """Each training loss averaged over the first and the last quarter of
    its logged values (at most 50 each): ``{key}_first``, ``{key}_last``.
    Did the run learn?"""
    out = {}
    for key in keys:
        values = message_hub.get_scalar(f'train/{key}').data[0]
        n = max(1, min(50, len(values) // 4))
        out[f'{key}_first'] = float(np.mean(values[:n]))
        out[f'{key}_last'] = float(np.mean(values[-n:]))
    return out
