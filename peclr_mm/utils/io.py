# Copyright (c) peclr_mm authors. All rights reserved.
"""Files that appear whole or not at all, and JSON read with errors that
name the file."""
import json
import os
import os.path as osp
import tempfile
from typing import Callable

__all__ = ['atomic_write', 'atomic_write_json', 'read_json', 'named_os_error']


def named_os_error(exc: OSError, what: str) -> OSError:
    """``exc`` (a full disk, no permission ...) again, its message naming
    ``what`` (e.g. the file being written); same type and errno."""
    message = f'{what} failed: {exc.strerror or exc}'
    if exc.errno is None:
        return type(exc)(message)
    return type(exc)(exc.errno, message)


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(file_name)`` on a temporary file beside ``path``, then
    move it into place (``os.replace``), so a crash or a kill never leaves
    a truncated ``path``; the temporary file is removed on failure, and an
    ``OSError`` (a full disk, no permission) names ``path``."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException as exc:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and path not in str(exc):
            raise named_os_error(exc, f'writing {path}') from exc
        raise


def atomic_write_json(path: str, obj, **kwargs) -> None:
    """``json.dump(obj, ..., **kwargs)`` to ``path`` through
    :func:`atomic_write`."""

    def dump(name: str) -> None:
        with open(name, 'w') as f:
            json.dump(obj, f, **kwargs)

    atomic_write(path, dump)


def read_json(path: str, what: str):
    """The parsed JSON at ``path``; a missing file or invalid JSON raises an
    error naming the file and ``what`` it was expected to hold."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing (expected {what})')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: not valid JSON ({exc}); expected '
                         f'{what}') from exc
