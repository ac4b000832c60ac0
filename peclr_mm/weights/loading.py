# Copyright (c) peclr_mm authors. All rights reserved.
"""Safe loading: ``torch.load(weights_only=True)`` with mmengine's
allow-list, for local files and for every remote scheme of mmengine's
``CheckpointLoader`` (docs/design.md section 9).

PyTorch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7's ``load_from_local`` calls ``torch.load`` without naming it, so its own
checkpoints (which pickle ``HistoryBuffer`` and NumPy values) fail to load.
Rather than turning safety off, the local-file scheme is replaced by
:func:`load_from_local_safe`, which allows exactly the types mmengine writes
and refuses anything else with an error naming the file and the offending
types. Resume, ``load_from``, ``init_cfg=dict(type='Pretrained')`` and
``tools/test.py`` all go through it.

mmengine's remote schemes (``http(s)://``, ``torchvision://``,
``modelzoo://``, ``open-mmlab://``, ``openmmlab://``, ``mmcls://``,
``pavi://``, ``s3://``, ``petrel://``) load with ``weights_only=False``, so a
pickle served from an address would run its code. They are replaced too:
each resolves its address, downloads the file into torch's hub cache,
under a folder named by a hash of the whole address
(:func:`fetch_checkpoint`, :func:`cache_path`, rank 0 first when
distributed) and loads it
through the same :func:`safe_torch_load`. :mod:`peclr_mm.patches` installs
:data:`SAFE_SCHEMES` into mmengine.
"""
import hashlib
import io
import os.path as osp
import pickle
import re
import tempfile
import zipfile
from typing import Any, Callable, List, Optional, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .download import DownloadError, download

__all__ = [
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'SAFE_GLOBALS',
    'safe_torch_load', 'fetch_checkpoint', 'load_from_local_safe',
    'load_from_address_safe', 'load_from_pavi_safe', 'load_from_ceph_safe',
    'SAFE_SCHEMES', 'HTTP_PREFIXES', 'NAMED_PREFIXES', 'cache_path'
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


def cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`fetch_checkpoint` keeps the download of ``url``: a
    folder named by a hash of the whole address, so that two servers'
    ``epoch_12.pth`` never stand for each other, and the address's own
    file name in it.

    Args:
        url: the ``http(s)://`` address.
        model_dir: the cache folder; ``None`` for ``checkpoints`` under
            torch's hub directory (``TORCH_HOME``).

    Returns:
        str: ``MODEL_DIR/HASH16/NAME``.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    name = osp.basename(urlparse(url).path) or 'checkpoint.pth'
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return osp.join(model_dir, key, name)


def _download(url: str, model_dir: Optional[str] = None) -> str:
    """The local copy of ``url`` in the cache (:func:`cache_path`),
    downloaded once and whole (:func:`.download.download`); rank 0
    downloads first when distributed."""
    from mmengine.dist import barrier, get_dist_info
    path = cache_path(url, model_dir)

    def fetch() -> None:
        if osp.isfile(path):
            return
        try:
            download(url, path)
        except DownloadError as exc:
            raise DownloadError(f'could not download checkpoint {url}: '
                                f'{exc}') from exc

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
    first resolved to their address; local paths are returned as given.

    Args:
        filename: a local path, an ``http(s)://`` address or a named
            scheme (``torchvision://``, ``modelzoo://``, ``open-mmlab://``,
            ``openmmlab://``, ``mmcls://``).
        model_dir: the folder downloads go to; ``None`` for
            ``checkpoints`` under torch's hub directory.

    Returns:
        str: the path of the local file (not checked to exist for a local
        path).

    Raises:
        KeyError: mmengine knows no model of a named scheme's name.
        OSError: the download failed.
    """
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

    Args:
        filename: the checkpoint's path (``~`` expanded) or address.
        map_location: ``torch.load``'s ``map_location`` (e.g. ``'cpu'``);
            ``None`` keeps the saved devices.

    Returns:
        Any: the loaded object, usually a dict with ``state_dict`` (and
        ``meta``, ``message_hub``, ...) or a bare state dict.

    Raises:
        FileNotFoundError: the file does not exist.
        KeyError, OSError: a named scheme could not be resolved or an
            address not downloaded (:func:`fetch_checkpoint`).
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
    """mmengine's local-file scheme, loading with ``weights_only=True``.

    Args:
        filename: the checkpoint's path.
        map_location: ``torch.load``'s ``map_location``.

    Returns:
        Any: the loaded checkpoint (:func:`safe_torch_load`, whose errors
        it raises).
    """
    return safe_torch_load(filename, map_location)


def load_from_address_safe(filename: str,
                           map_location: Optional[Any] = None,
                           model_dir: Optional[str] = None,
                           **kwargs) -> Any:
    """mmengine's address schemes: download into the hub cache, then the
    allow-listed load (mmcls checkpoints renamed as mmengine does).

    Args:
        filename: an ``http(s)://`` address or a named scheme
            (:func:`fetch_checkpoint`).
        map_location: ``torch.load``'s ``map_location``.
        model_dir: the download folder; ``None`` for torch's hub cache.
        **kwargs: mmengine's other arguments (e.g. ``progress``), ignored.

    Returns:
        Any: the loaded checkpoint (:func:`safe_torch_load`, whose errors
        it raises).
    """
    ckpt = safe_torch_load(fetch_checkpoint(filename, model_dir), map_location)
    if filename.startswith('mmcls://'):
        from mmengine.runner.checkpoint import _process_mmcls_checkpoint
        ckpt = _process_mmcls_checkpoint(ckpt)
    return ckpt


def load_from_pavi_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine's ``pavi://`` scheme with the allow-listed load.

    Args:
        filename: ``pavi://`` and the model's name in modelcloud.
        map_location: ``torch.load``'s ``map_location``.

    Returns:
        Any: the loaded checkpoint (:func:`safe_torch_load`, whose errors
        it raises).

    Raises:
        ImportError: ``pavi`` is not installed.
    """
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
    load (the bytes go through a temporary file so errors can name it).

    Args:
        filename: the ``s3://`` or ``petrel://`` address (optionally with
            a ``NAME:`` prefix).
        map_location: ``torch.load``'s ``map_location``.
        backend: mmengine's file backend that reads the bytes.

    Returns:
        Any: the loaded checkpoint (:func:`safe_torch_load`, whose errors
        it raises).
    """
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
