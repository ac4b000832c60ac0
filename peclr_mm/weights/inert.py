# Copyright (c) peclr_mm authors. All rights reserved.
"""The inert reader: the ``state_dict`` of a checkpoint that pickles
foreign objects (PyTorch-Lightning ``.ckpt``), read without importing or
running any of them."""
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Dict

import torch

from .loading import (CorruptCheckpointError, UnsafeCheckpointError,
                      fetch_checkpoint, safe_torch_load)

__all__ = ['load_state_dict_only']


class _Inert(dict):
    """Stands in for every class a foreign checkpoint pickles: it accepts
    any construction, items and state, and runs nothing."""

    def __new__(cls, *args, **kwargs):
        return dict.__new__(cls)

    def __init__(self, *args, **kwargs):
        dict.__init__(self)

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()


#: What :func:`load_state_dict_only` lets a pickle construct for real:
#: tensors (torch's own rebuild functions), ordered dicts, NumPy arrays.
_TENSOR_GLOBALS = {
    ('torch._utils', '_rebuild_tensor_v2'),
    ('torch._utils', '_rebuild_tensor_v3'),
    ('torch._utils', '_rebuild_parameter'),
    ('torch._utils', '_rebuild_parameter_with_state'),
    ('torch', 'Size'),
    ('torch', 'device'),
    ('collections', 'OrderedDict'),
}


class _StateDictUnpickler(pickle.Unpickler):
    """Constructs tensors and containers only; every other global becomes a
    fresh inert class of the same name (nothing is imported or called)."""

    def find_class(self, module: str, name: str):
        if (module, name) in _TENSOR_GLOBALS:
            return super().find_class(module, name)
        if module == 'torch' and name.endswith('Storage'):
            return super().find_class(module, name)
        if module == 'builtins' and name in ('set', 'frozenset', 'slice',
                                             'complex'):
            return super().find_class(module, name)
        return type(name, (_Inert, ), {'__module__': f'inert.{module}'})


class _StateDictPickleModule:
    """A ``pickle_module`` for ``torch.load`` that uses the unpickler
    above."""
    Unpickler = _StateDictUnpickler

    @staticmethod
    def load(file, **kwargs):
        # torch's legacy format reads its header through ``load``: the
        # restricted unpickler there too
        return _StateDictUnpickler(file, **kwargs).load()

    __name__ = 'peclr_mm_state_dict_pickle'


def load_state_dict_only(filename: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of a checkpoint that pickles other objects too,
    such as the PyTorch-Lightning ``.ckpt`` files PeCLR released (callbacks,
    hyper-parameters, loops), without running any of their code.

    An mmengine or plain checkpoint goes through :func:`safe_torch_load`.
    Otherwise the file is read with an unpickler that builds tensors and
    containers only and replaces every other pickled class or function by
    an inert placeholder (nothing is imported or called); only the tensors
    under ``state_dict`` are returned.

    Raises:
        CorruptCheckpointError: the file is damaged or holds no
            ``state_dict`` of tensors.
    """
    try:
        ckpt = safe_torch_load(filename, map_location='cpu')
    except UnsafeCheckpointError:
        filename = fetch_checkpoint(osp.expanduser(filename))
        try:
            ckpt = torch.load(
                filename,
                map_location='cpu',
                weights_only=False,
                pickle_module=_StateDictPickleModule)
        except (EOFError, RuntimeError, pickle.UnpicklingError) as exc:
            raise CorruptCheckpointError(
                f'checkpoint {filename} could not be read: {exc}') from exc
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CorruptCheckpointError(
            f'checkpoint {filename} holds no state_dict of tensors')
    return OrderedDict((str(k), v) for k, v in state.items())
