# Copyright (c) peclr_mm authors. All rights reserved.
"""The reproduction study's edits of a shipped config: its pretraining and
downstream schedules (an epoch budget that may stop early on one schedule,
a short iteration budget) and the mined pairs of similar-hand
pretraining."""
from typing import Optional

from peclr_mm.utils.config import set_iteration_loop

__all__ = ['set_similar_hands', 'set_iteration_budget', 'set_epoch_budget']


def set_similar_hands(cfg,
                      similar_file: str,
                      k: Optional[int] = None,
                      cache_mib: float = 0.) -> None:
    """Point every ``LoadSimilarHand`` of a similar-hand pretraining config
    at ``similar_file`` (the mining tool's ``.npz``), in place.

    Args:
        cfg: a pretraining config whose ``MultiViewWithGeometry`` has one
            pipeline per view starting with ``LoadSimilarHand``
            (``configs/simhand/``).
        similar_file: the mined similar hands of the training annotations.
        k: draw view 2 among this many nearest (at most the file's); None
            keeps the config's.
        cache_mib: memory for the views' decoded images, MiB
            (``LoadHandImage``'s cache); 0 keeps the config's.
    """
    found = 0
    for t in cfg['train_dataloader']['dataset']['pipeline']:
        if t['type'] != 'MultiViewWithGeometry':
            continue
        for view in t['transforms']:
            steps = view if isinstance(view, (list, tuple)) else [view]
            for step in steps:
                if step['type'] == 'LoadSimilarHand':
                    step['similar_file'] = similar_file
                    if k is not None and step.get('partner', True):
                        step['k'] = int(k)
                    if cache_mib:
                        step['cache_mib'] = cache_mib
                    found += 1
    if not found:
        raise ValueError('set_similar_hands: the train pipeline has no '
                         'LoadSimilarHand in a MultiViewWithGeometry (not a '
                         'configs/simhand/ config?)')


def _warmup_cosine(warmup_iters: int,
                   total: int,
                   start_factor: float,
                   by_epoch: bool = False) -> list:
    """mmengine schedulers: linear warm-up from ``start_factor`` over
    ``warmup_iters`` iterations, then cosine decay over ``total`` iterations
    (or epochs, stepped per iteration, with ``by_epoch``)."""
    cosine = dict(
        type='CosineAnnealingLR',
        T_max=total,
        by_epoch=by_epoch,
        begin=0,
        end=total)
    if by_epoch:
        cosine['convert_to_iter_based'] = True
    return [
        dict(
            type='LinearLR',
            start_factor=start_factor,
            by_epoch=False,
            begin=0,
            end=warmup_iters), cosine
    ]


def set_iteration_budget(cfg, iters: int, warmup: int = 50) -> None:
    """Make ``cfg`` train for ``iters`` iterations and stop.

    An infinite shuffling sampler (a small labelled subset is then not
    reloaded every few batches), no validation, linear warm-up over
    ``min(warmup, iters)`` iterations then cosine decay to the end, one
    checkpoint at the end and a log line every 50 iterations.

    Args:
        cfg: an mmengine config.
        iters: ``train_cfg.max_iters``.
        warmup: warm-up iterations (at most ``iters``), from 1e-2 of the
            learning rate.
    """
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    set_iteration_loop(cfg, iters, iters, 50)
    cfg.param_scheduler = _warmup_cosine(min(warmup, iters), iters, 1e-2)


def set_epoch_budget(cfg,
                     epochs: int,
                     warmup: int = 50,
                     keep_every_epoch: bool = False,
                     stop_epoch: Optional[int] = None) -> None:
    """Make ``cfg`` train on an ``epochs``-epoch schedule: linear warm-up
    over ``warmup`` iterations, then cosine decay (per iteration) to the
    last epoch, a log line every 50 iterations.

    Args:
        cfg: an mmengine config.
        epochs: the schedule's length in epochs.
        warmup: warm-up iterations.
        keep_every_epoch: a checkpoint after every epoch, all kept (points
            of one schedule to evaluate); otherwise one at the end.
        stop_epoch: stop after this epoch of the schedule
            (``train_cfg.max_epochs``; every epoch's checkpoint kept), so
            that a later run resumed with ``stop_epoch=None`` continues the
            same schedule; None trains it to the end.
    """
    stop = epochs if stop_epoch is None else int(stop_epoch)
    if not 1 <= stop <= epochs:
        raise ValueError(f'stop_epoch {stop_epoch} must lie in 1..{epochs}')
    keep_every_epoch = keep_every_epoch or stop < epochs
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=stop)
    cfg.param_scheduler = _warmup_cosine(warmup, epochs, 1e-3, by_epoch=True)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    if keep_every_epoch:
        cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 50
