# Copyright (c) peclr_mm authors. All rights reserved.
"""Whether a checkpoint's weights fit a model, and the words that say how
they do not (one formatting for every refusal of the package)."""
from typing import Any, List, Mapping, Tuple

import torch

from .loading import safe_torch_load

__all__ = [
    'compare_state_dict', 'describe_mismatch', 'check_checkpoint_matches',
    'model_mismatch'
]


def compare_state_dict(
    state: Mapping[str, Any],
    expected: Mapping[str, Any],
) -> Tuple[List[str], List[str], List[str]]:
    """How ``state`` differs from ``expected`` (tensors or shapes by name):
    the missing names, the unexpected names and ``'NAME (got) != (want)'``
    for each shape that differs.

    Args:
        state: the weights compared, tensors (or shapes) by name.
        expected: the weights wanted, tensors or shapes by name.

    Returns:
        tuple: the lists ``missing``, ``unexpected`` and ``mis_shaped``,
        in the order of ``expected`` (``state`` for the unexpected).
    """

    def shape(v):
        return tuple(v.shape if hasattr(v, 'shape') else v)

    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mis_shaped = [
        f'{k} {shape(state[k])} != {shape(v)}' for k, v in expected.items()
        if k in state and hasattr(state[k], 'shape')
        and shape(state[k]) != shape(v)
    ]
    return missing, unexpected, mis_shaped


def describe_mismatch(missing: List[str],
                      unexpected: List[str],
                      mis_shaped: List[str],
                      max_listed: int = 5) -> str:
    """``'N missing: a, b (+k more); N unexpected: ...'`` for the non-empty
    lists of :func:`compare_state_dict`; empty when all are empty.

    Args:
        missing: names missing from the weights.
        unexpected: names the model does not have.
        mis_shaped: ``'NAME (got) != (want)'`` entries.
        max_listed: the most entries of each list named; the rest are
            counted.

    Returns:
        str: the description, ``'; '``-separated.
    """
    parts = []
    for what, keys in (('missing', missing), ('unexpected', unexpected),
                       ('mis-shaped', mis_shaped)):
        if keys:
            more = (f' (+{len(keys) - max_listed} more)'
                    if len(keys) > max_listed else '')
            parts.append(f'{len(keys)} {what}: '
                         f'{", ".join(keys[:max_listed])}{more}')
    return '; '.join(parts)


def check_checkpoint_matches(model: torch.nn.Module,
                             filename: str,
                             max_listed: int = 5) -> None:
    """Refuse a checkpoint whose weights do not fit ``model``.

    Args:
        model: the model (a wrapper's ``module`` is compared).
        filename: the checkpoint file, loaded safely on CPU; its
            ``state_dict`` or the whole file is read as the weights.
        max_listed: the most names of each kind in the message.

    Raises:
        ValueError: names the file and the first missing, unexpected or
            mis-shaped parameters.
    """
    ckpt = safe_torch_load(filename, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{filename}: no state_dict found (got '
                         f'{type(ckpt).__name__})')
    module = getattr(model, 'module', model)
    message = model_mismatch(state, module, max_listed)
    if message:
        raise ValueError(f'checkpoint {filename} {message}')


def model_mismatch(state: Mapping[str, Any],
                   module: torch.nn.Module,
                   max_listed: int = 5) -> str:
    """``'does not match the model NAME of the config: ...'`` when the
    weights ``state`` (``module.`` prefixes of a wrapper removed) do not fit
    ``module`` key for key and shape for shape; empty when they do. The
    words of :func:`check_checkpoint_matches` and of the estimator's own
    refusal on load (``TopdownHand3DEstimator``).

    Args:
        state: the weights, tensors by name.
        module: the model they should fit.
        max_listed: the most names of each kind in the message.

    Returns:
        str: the description of the mismatch, or ``''``.
    """
    state = {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    mismatch = describe_mismatch(
        *compare_state_dict(state, module.state_dict()), max_listed=max_listed)
    if not mismatch:
        return ''
    return (f'does not match the model {type(module).__name__} of the '
            f'config: {mismatch}')
