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

mmengine's remote schemes (``http(s)://``, ``torchvision://``,
``modelzoo://``, ``open-mmlab://``, ``openmmlab://``, ``mmcls://``,
``pavi://``, ``s3://``, ``petrel://``) load with ``weights_only=False``
(``torch.hub.load_state_dict_from_url``, plain ``torch.load``), so a pickle
served from an address would run its code. They are replaced too: each
resolves its address, downloads the file into torch's hub cache
(:func:`fetch_checkpoint`, rank 0 first when distributed) and loads it
through the same allow-listed :func:`safe_torch_load` as a local file.
The loaders are installed into mmengine by :mod:`peclr_mm.patches`
(:data:`SAFE_SCHEMES`).

Everything else a checkpoint file goes through lives here too: the
comparison of its weights with a model (:func:`check_checkpoint_matches`,
:func:`compare_state_dict`), atomic saving (:func:`atomic_save_checkpoint`,
installed by :mod:`peclr_mm.patches`), the backbone export for other
configs (:func:`export_backbone`). The conversion of the authors'
released weights lives with its key mappings in
:mod:`peclr_mm.models.utils.weight_converters`.
"""
import io
import os
import os.path as osp
import pickle
import re
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .io import named_os_error

__all__ = [
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'SAFE_GLOBALS',
    'safe_torch_load', 'fetch_checkpoint', 'load_from_local_safe',
    'check_checkpoint_matches', 'model_mismatch', 'load_state_dict_only',
    'SAFE_SCHEMES', 'compare_state_dict', 'describe_mismatch',
    'atomic_save_checkpoint', 'export_backbone'
]

_BUILTIN_STATISTICS = ('min', 'max', 'mean', 'current')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles a type outside the allow-list."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file is empty, truncated or not a torch checkpoint."""


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


#: Address prefixes resolved by :func:`fetch_checkpoint`.
HTTP_PREFIXES = ('http://', 'https://')
NAMED_PREFIXES = ('torchvision://', 'modelzoo://', 'open-mmlab://',
                  'openmmlab://', 'mmcls://')


def _download(url: str, model_dir: Optional[str] = None) -> str:
    """The local copy of ``url`` in torch's hub cache (``TORCH_HOME``),
    downloaded once (to a temporary file, then renamed, by
    ``torch.hub.download_url_to_file``); rank 0 downloads first when
    distributed."""
    from mmengine.dist import barrier, get_dist_info
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    name = osp.basename(urlparse(url).path) or 'checkpoint.pth'
    path = osp.join(model_dir, name)

    def fetch() -> None:
        if osp.isfile(path):
            return
        os.makedirs(model_dir, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, path, progress=False)
        except Exception as exc:
            raise OSError(
                f'could not download checkpoint {url}: {exc}') from exc

    rank, world_size = get_dist_info()
    if rank == 0:
        fetch()
    if world_size > 1:
        barrier()
        if rank > 0:  # nodes that do not share rank 0's cache
            fetch()
        barrier()
    return path


def fetch_checkpoint(filename: str, model_dir: Optional[str] = None) -> str:
    """A local file for ``filename``: addresses (``http(s)://``) are
    downloaded into the hub cache, mmengine's named schemes
    (``torchvision://NAME``, ``open-mmlab://NAME``, ``mmcls://NAME``) are
    first resolved to their address; local paths are returned as given."""
    from mmengine.runner import checkpoint as mmckpt
    if filename.startswith(HTTP_PREFIXES):
        return _download(filename, model_dir)
    if filename.startswith(('torchvision://', 'modelzoo://')):
        name = filename.split('://', 1)[1]
        urls = mmckpt.get_torchvision_models()
    elif filename.startswith(('open-mmlab://', 'openmmlab://')):
        name = filename.split('://', 1)[1]
        urls = mmckpt.get_external_models()
        name = mmckpt.get_deprecated_model_names().get(name, name)
    elif filename.startswith('mmcls://'):
        name = filename.split('://', 1)[1]
        urls = mmckpt.get_mmcls_models()
    else:
        return filename
    if name not in urls:
        raise KeyError(f'{filename}: mmengine knows no model {name!r}')
    url = urls[name]
    if url.startswith(HTTP_PREFIXES):
        return _download(url, model_dir)
    return osp.join(mmckpt._get_mmengine_home(), url)


def _check_readable(filename: str) -> None:
    """Refuse an empty, truncated or foreign file before unpickling."""
    size = osp.getsize(filename)
    if size == 0:
        raise CorruptCheckpointError(f'checkpoint {filename} is empty (0 '
                                     'bytes): an interrupted save or copy?')
    if zipfile.is_zipfile(filename):
        try:
            with zipfile.ZipFile(filename) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            bad = str(exc)
        if bad is not None:
            raise CorruptCheckpointError(
                f'checkpoint {filename} is damaged ({bad} fails its '
                'checksum): an interrupted save or copy?')
        return
    with open(filename, 'rb') as f:
        head = f.read(2)
    if head[:1] != b'\x80':  # the legacy format starts with a pickle
        raise CorruptCheckpointError(
            f'checkpoint {filename} ({size} bytes) is truncated or not a '
            'torch checkpoint (neither a zip archive nor a pickle)')


def safe_torch_load(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load(filename, weights_only=True)`` with the mmengine
    allow-list; addresses and mmengine's named schemes are downloaded first
    (:func:`fetch_checkpoint`).

    Raises:
        FileNotFoundError: the file does not exist.
        CorruptCheckpointError: the file is empty, truncated or not a torch
            checkpoint; the message names the file.
        UnsafeCheckpointError: the checkpoint pickles a type outside
            :data:`SAFE_GLOBALS`; the message names the file and the types.
    """
    filename = fetch_checkpoint(osp.expanduser(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    _check_readable(filename)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except (EOFError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not any(
                k in str(exc)
                for k in ('PytorchStreamReader', 'zip', 'archive', 'storage')):
            raise
        raise CorruptCheckpointError(
            f'checkpoint {filename} is truncated or damaged '
            f'({type(exc).__name__}: {str(exc).splitlines()[0][:120]})'
        ) from exc
    except pickle.UnpicklingError as exc:
        offending = _offending_types(filename, str(exc))
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it pickles '
            f'{", ".join(offending)}, which is not on peclr_mm\'s allow-list '
            '(weights_only=True). Only mmengine checkpoints (tensors, '
            'HistoryBuffer, NumPy values) are accepted; re-save the weights '
            'with torch.save(model.state_dict()) if you trust the file.'
        ) from exc


def load_from_local_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine's local-file scheme, loading with ``weights_only=True``."""
    return safe_torch_load(filename, map_location)


def load_from_address_safe(filename: str,
                           map_location: Optional[Any] = None,
                           model_dir: Optional[str] = None,
                           **kwargs) -> Any:
    """mmengine's address schemes: download into the hub cache, then the
    allow-listed load (mmcls checkpoints renamed as mmengine does)."""
    ckpt = safe_torch_load(fetch_checkpoint(filename, model_dir), map_location)
    if filename.startswith('mmcls://'):
        from mmengine.runner.checkpoint import _process_mmcls_checkpoint
        ckpt = _process_mmcls_checkpoint(ckpt)
    return ckpt


def load_from_pavi_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine's ``pavi://`` scheme with the allow-listed load."""
    try:
        from pavi import modelcloud
    except ImportError as exc:
        raise ImportError(
            'Please install pavi to load checkpoint from modelcloud.') from exc
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp_dir:
        path = osp.join(tmp_dir, model.name)
        model.download(path)
        return safe_torch_load(path, map_location)


#: mmengine ``CheckpointLoader`` prefixes -> the safe loader that replaces
#: mmengine's (installed by :mod:`peclr_mm.patches`).
SAFE_SCHEMES = {}


def load_from_ceph_safe(filename: str,
                        map_location: Optional[Any] = None,
                        backend: str = 'petrel'):
    """mmengine's ``s3://`` / ``petrel://`` schemes with the allow-listed
    load (the bytes go through a temporary file so errors can name it)."""
    from mmengine.fileio import get_file_backend
    data = get_file_backend(
        filename, backend_args={
            'backend': backend
        }).get(filename)
    with tempfile.TemporaryDirectory() as tmp_dir:
        path = osp.join(tmp_dir, osp.basename(filename) or 'checkpoint.pth')
        with io.open(path, 'wb') as f:
            f.write(data)
        return safe_torch_load(path, map_location)


def compare_state_dict(
    state: Mapping[str, Any],
    expected: Mapping[str, Any],
) -> Tuple[List[str], List[str], List[str]]:
    """How ``state`` differs from ``expected`` (tensors or shapes by name):
    the missing names, the unexpected names and ``'NAME (got) != (want)'``
    for each shape that differs."""

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
    lists of :func:`compare_state_dict`; empty when all are empty."""
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
    refusal on load (``TopdownHand3DEstimator``)."""
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


SAFE_SCHEMES.update({
    '': load_from_local_safe,
    **{
        p: load_from_address_safe
        for p in HTTP_PREFIXES + NAMED_PREFIXES
    },
    'pavi://': load_from_pavi_safe,
    r'(\S+\:)?s3://': load_from_ceph_safe,
    r'(\S+\:)?petrel://': load_from_ceph_safe,
})


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


def atomic_save_checkpoint(checkpoint, filename, *args, **kwargs):
    """mmengine's ``save_checkpoint``, written atomically for local files.

    mmengine writes a checkpoint straight to its final name, so a run
    killed while saving leaves a truncated ``epoch_N.pth`` that ``--resume``
    or ``load_from`` would then fail on. Here ``NAME.tmp`` is written and
    renamed into place (``os.replace`` is atomic on one file system); other
    back-ends (HTTP, S3, ...) are left as they are.
    """
    from mmengine.runner.checkpoint import save_checkpoint
    if '://' in str(filename) or kwargs.get('file_client_args') or (
            kwargs.get('backend_args') or {}).get('backend',
                                                  'local') != 'local':
        return save_checkpoint(checkpoint, filename, *args, **kwargs)
    tmp = f'{filename}.tmp'
    try:
        save_checkpoint(checkpoint, tmp, *args, **kwargs)
        os.replace(tmp, filename)
    except OSError as exc:  # a full disk: name the checkpoint
        raise named_os_error(exc, f'writing checkpoint {filename}') from exc
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def export_backbone(src: str, dst: str, prefix: str = 'backbone.') -> int:
    """Write the ``prefix`` weights of checkpoint ``src`` (prefix removed)
    to ``dst`` atomically, for ``init_cfg=dict(type='Pretrained')`` of any
    config; return how many tensors.

    Raises:
        ValueError: ``src`` holds no weights under ``prefix``.
    """
    from .io import atomic_write
    ckpt = safe_torch_load(src, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    out = OrderedDict(
        (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    if not out:
        found = sorted({k.split('.')[0] for k in state})[:8]
        raise ValueError(f'{src}: no weights start with {prefix!r} (top-level '
                         f'names: {", ".join(found)})')
    meta = dict(source=osp.abspath(src), prefix=prefix)
    if isinstance(ckpt.get('meta'), dict):
        for key in ('epoch', 'iter', 'mmengine_version', 'seed'):
            if key in ckpt['meta']:
                meta[key] = ckpt['meta'][key]
    atomic_write(
        dst, lambda name: torch.save(dict(state_dict=out, meta=meta), name))
    return len(out)
