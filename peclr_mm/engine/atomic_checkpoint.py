# Copyright (c) peclr_mm authors. All rights reserved.
"""Write local checkpoints atomically.

mmengine writes a checkpoint straight to its final name, so a run killed
while saving leaves a truncated ``epoch_N.pth`` that ``--resume`` or
``load_from`` would then fail on. Here the runner's ``save_checkpoint``
writes ``NAME.tmp`` and renames it into place (``os.replace`` is atomic on
one file system); other back-ends (HTTP, S3, ...) are left as they are.
Installed by :mod:`peclr_mm.patches`.
"""
import os
import os.path as osp
from functools import wraps

from mmengine.runner.checkpoint import save_checkpoint as _save_checkpoint

__all__ = ['atomic_save_checkpoint']


@wraps(_save_checkpoint)
def atomic_save_checkpoint(checkpoint, filename, *args, **kwargs):
    if '://' in str(filename) or kwargs.get('file_client_args') or (
            kwargs.get('backend_args') or {}).get('backend',
                                                  'local') != 'local':
        return _save_checkpoint(checkpoint, filename, *args, **kwargs)
    tmp = f'{filename}.tmp'
    try:
        _save_checkpoint(checkpoint, tmp, *args, **kwargs)
        os.replace(tmp, filename)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
