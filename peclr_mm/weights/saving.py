# Copyright (c) peclr_mm authors. All rights reserved.
"""Saving: mmengine's checkpoints written whole or not at all."""
import os
import os.path as osp
from typing import Sequence

import torch

from ..utils.io import atomic_write, named_os_error
from .loading import safe_torch_load

__all__ = ['atomic_save_checkpoint', 'strip_checkpoint']


def atomic_save_checkpoint(checkpoint, filename, *args, **kwargs):
    """mmengine's ``save_checkpoint``, written atomically for local files.

    mmengine writes a checkpoint straight to its final name, so a run
    killed while saving leaves a truncated ``epoch_N.pth`` that ``--resume``
    or ``load_from`` would then fail on. Here ``NAME.tmp`` is written and
    renamed into place (``os.replace`` is atomic on one file system); other
    back-ends (HTTP, S3, ...) are left as they are.

    Args:
        checkpoint (dict): the checkpoint to save (``meta``,
            ``state_dict``, ...).
        filename (str): the checkpoint's path or address.
        *args: passed to mmengine's ``save_checkpoint``.
        **kwargs: passed to mmengine's ``save_checkpoint``; a
            ``file_client_args`` or a non-local ``backend_args`` back-end
            saves without the temporary file.

    Raises:
        OSError: writing a local file failed; the message names it.
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


def strip_checkpoint(src: str,
                     dst: str,
                     keep: Sequence[str] = ('meta', 'state_dict')) -> int:
    """Write ``src``'s ``keep`` entries alone to ``dst``: a training
    checkpoint without its optimizer state, message hub and schedulers, as
    OpenMMLab publishes models (about a third of the size under Adam).

    ``src`` is loaded safely (``weights_only=True``, the allow-list);
    ``dst`` is written atomically.

    Args:
        src: the checkpoint to read.
        dst: the file to write (replaced if it exists).
        keep: the top-level entries kept; ``state_dict`` must be one.

    Returns:
        int: the number of tensors in the kept ``state_dict``.

    Raises:
        ValueError: ``src`` has no ``state_dict`` (a bare weights file or
            another format); the message names it.
    """
    if 'state_dict' not in keep:
        raise ValueError(f'strip_checkpoint: keep {tuple(keep)} must name '
                         '\'state_dict\'')
    ckpt = safe_torch_load(src, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        found = (f'keys {sorted(ckpt)}'
                 if isinstance(ckpt, dict) else type(ckpt).__name__)
        raise ValueError(f'checkpoint {src}: expected a dict with '
                         f'\'state_dict\' (an mmengine checkpoint), found '
                         f'{found}')
    out = {k: ckpt[k] for k in keep if k in ckpt}

    def write(tmp):
        torch.save(out, tmp)

    atomic_write(dst, write)
    return len(out['state_dict'])
