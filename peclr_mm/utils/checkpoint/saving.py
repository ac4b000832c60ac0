# Copyright (c) peclr_mm authors. All rights reserved.
"""Saving: mmengine's checkpoints written whole or not at all."""
import os
import os.path as osp

from ..io import named_os_error

__all__ = ['atomic_save_checkpoint']


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
