# Copyright (c) peclr_mm authors. All rights reserved.
"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

PyTorch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7's ``load_from_local`` calls ``torch.load`` without naming it, so its own
checkpoints (which pickle ``HistoryBuffer`` and NumPy values) fail to load.
Rather than turning safety off, the local-file scheme of mmengine's
``CheckpointLoader`` is replaced by :func:`load_from_local_safe`, which allows
exactly the types mmengine writes and refuses anything else with an error
naming the file and the offending types. Resume, ``load_from``,
``init_cfg=dict(type='Pretrained')`` and ``tools/test.py`` all go through it.
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'UnsafeCheckpointError', 'SAFE_GLOBALS', 'safe_torch_load',
    'load_from_local_safe', 'check_checkpoint_matches'
]

_BUILTIN_STATISTICS = ('min', 'max', 'mean', 'current')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles a type outside the allow-list."""


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` during unpickling.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``; allowing ``getattr`` itself would let a
    checkpoint reach any attribute of an allowed type (``ndarray.tofile``, for
    one), so only those four look-ups are served.
    """
    if obj is HistoryBuffer and name in _BUILTIN_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r}) '
        'is not on the allow-list')


def _numpy_globals() -> List[Any]:
    from numpy.core.multiarray import _reconstruct, scalar
    types = [np.ndarray, np.dtype, _reconstruct, scalar]
    # NumPy >= 1.25 pickles some dtypes through their classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return types


#: Exactly what mmengine writes: the message hub's ``HistoryBuffer`` (and the
#: four statistics methods it pickles through ``getattr``), NumPy arrays,
#: dtypes and scalars (history values, dataset meta such as OKS sigmas) and
#: ``bytes``, which pickle protocol 2 names for an empty byte string.
SAFE_GLOBALS: List[Union[Any, tuple]] = [
    HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'), bytes,
    *_numpy_globals()
]

_GLOBAL_RE = re.compile(r'GLOBAL ([\w.]+)')


def _offending_types(filename: str, message: str) -> List[str]:
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # not a zip checkpoint: fall back to torch's message
        found = _GLOBAL_RE.findall(message)
    allowed = {'builtins.getattr'}
    for item in SAFE_GLOBALS:
        obj = item[0] if isinstance(item, tuple) else item
        allowed.add(f'{obj.__module__}.{obj.__qualname__}')
    offending = [name for name in found if name not in allowed]
    return offending or _GLOBAL_RE.findall(message) or ['<unknown>']


def safe_torch_load(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load(filename, weights_only=True)`` with the mmengine
    allow-list.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the checkpoint pickles a type outside
            :data:`SAFE_GLOBALS`; the message names the file and the types.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        offending = _offending_types(filename, str(exc))
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it pickles '
            f'{", ".join(offending)}, which is not on peclr_mm\'s allow-list '
            '(weights_only=True). Only mmengine checkpoints (tensors, '
            'HistoryBuffer, NumPy values) are accepted; re-save the weights '
            'with torch.save(model.state_dict()) if you trust the file.'
        ) from exc


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine's local-file scheme, loading with ``weights_only=True``."""
    return safe_torch_load(filename, map_location)


def check_checkpoint_matches(model: torch.nn.Module,
                             filename: str,
                             max_listed: int = 5) -> None:
    """Refuse a checkpoint whose weights do not fit ``model``.

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
    expected = module.state_dict()
    state = {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shape = [
        f'{k} {tuple(state[k].shape)} != {tuple(v.shape)}'
        for k, v in expected.items()
        if k in state and hasattr(state[k], 'shape')
        and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shape:
        parts = []
        for what, keys in (('missing', missing), ('unexpected', unexpected),
                           ('mis-shaped', shape)):
            if keys:
                more = (f' (+{len(keys) - max_listed} more)'
                        if len(keys) > max_listed else '')
                parts.append(f'{len(keys)} {what}: '
                             f'{", ".join(keys[:max_listed])}{more}')
        raise ValueError(f'checkpoint {filename} does not match the model '
                         f'{type(module).__name__} of the config: ' +
                         '; '.join(parts))
