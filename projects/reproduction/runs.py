# Copyright (c) peclr_mm authors. All rights reserved.
"""The reproduction study's short runs: train, test and summarise a config
once, and what a finished run's message hub says about its training."""
import os.path as osp
import time
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from peclr_mm.utils.io import atomic_write_json, read_json

__all__ = ['loss_first_last', 'cached_train_test', 'HEAD_LOSSES']

#: The 2.5-D head's training losses.
HEAD_LOSSES = ('loss_uv', 'loss_zrel', 'loss_zroot')


def loss_first_last(message_hub,
                    keys: Sequence[str] = HEAD_LOSSES) -> Dict[str, float]:
    """Each training loss averaged over the first and the last quarter of
    its logged values (at most 50 each): ``{key}_first``, ``{key}_last``.
    Did the run learn?

    Args:
        message_hub: the finished run's mmengine ``MessageHub``, holding
            the scalars ``train/{key}``.
        keys: the losses to summarise.

    Returns:
        dict: ``{key}_first`` and ``{key}_last`` floats for each key.

    Raises:
        KeyError: the message hub has no ``train/{key}``.
    """
    out = {}
    for key in keys:
        values = message_hub.get_scalar(f'train/{key}').data[0]
        n = max(1, min(50, len(values) // 4))
        out[f'{key}_first'] = float(np.mean(values[:n]))
        out[f'{key}_last'] = float(np.mean(values[-n:]))
    return out


def cached_train_test(cfg,
                      done: str,
                      record: Optional[Callable[[dict], dict]] = None,
                      losses: Sequence[str] = HEAD_LOSSES) -> dict:
    """Train and test ``cfg``'s runner once and keep the result.

    The result, ``{train_s, test_s, metrics, losses}`` (the test metrics
    without the per-joint ones, :func:`loss_first_last` of ``losses``) or
    ``record`` of it, is written atomically to ``done``; when ``done``
    exists the run is not repeated and its record is returned.

    Args:
        cfg (Config): a training config with a test loop.
        done (str): the json that marks the run finished.
        record (callable, optional): shapes the result before it is kept.
        losses (Sequence[str]): training losses summarised.

    Returns:
        dict: the kept record.
    """
    if osp.isfile(done):
        return read_json(done, 'the record of a finished run')
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    t = time.time()
    runner.train()
    train_s = time.time() - t
    summary = loss_first_last(runner.message_hub, losses)
    t = time.time()
    metrics = runner.test()
    result = dict(
        train_s=train_s,
        test_s=time.time() - t,
        metrics={
            k: float(v)
            for k, v in metrics.items() if '_j' not in k
        },
        losses=summary)
    if record is not None:
        result = record(result)
    atomic_write_json(done, result, indent=1)
    return result
