# Copyright (c) peclr_mm authors. All rights reserved.
"""A resumed run that continues the same run: random states in checkpoints.

mmengine seeds Python, NumPy and torch once when the runner is built and
saves none of their states, so a run resumed from epoch E draws other
augmentations (and other data-loader seeds) than the run that was never
interrupted, and its loss curve departs from the first iteration. The
sampler is not the cause: ``DefaultSampler`` reshuffles from ``seed +
epoch`` (``DistSamplerSeedHook``).
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

__all__ = ['RandomStateHook', 'get_random_states', 'set_random_states']


def get_random_states() -> dict:
    """The states of Python's, NumPy's and torch's global generators (and
    CUDA's where present), in types the checkpoint allow-list accepts."""
    version, state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = dict(
        python=[version, list(state), gauss],
        numpy=dict(
            kind=kind,
            keys=keys,
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    """Restore what :func:`get_random_states` returned."""
    version, state, gauss = states['python']
    random.setstate((version, tuple(state), gauss))
    n = states['numpy']
    np.random.set_state((n['kind'], np.asarray(n['keys'], np.uint32), n['pos'],
                         n['has_gauss'], n['cached_gaussian']))
    torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the global random states in every checkpoint and restore them
    on resume; keep validation from consuming them.

    With it, a run killed after epoch E and resumed (``--resume``) draws the
    same augmentations and data-loader seeds from epoch E + 1 on as the
    uninterrupted run, so both loss curves are equal (tested with a fixed
    seed and ``deterministic=True``). Validation runs between the saved
    state and the next epoch in the uninterrupted run only; the hook gives
    it its own copy of the states and puts the training's back afterwards,
    so validating or not does not change the training either.

    Data-loader workers are seeded by mmengine from ``seed`` and the worker
    id, the same every epoch; persistent workers carry their streams over
    epochs, which a resumed run cannot reproduce, so exact resumption needs
    ``persistent_workers=False`` (or no workers).

    Priority ``VERY_HIGH``: the states are captured before other hooks draw
    random numbers in ``before_val_epoch``.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._train_states: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_states'] = get_random_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('random_states')
        if states is not None and getattr(runner, '_resume', False):
            set_random_states(states)

    def before_val_epoch(self, runner) -> None:
        self._train_states = get_random_states()

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._train_states is not None:
            set_random_states(self._train_states)
            self._train_states = None
