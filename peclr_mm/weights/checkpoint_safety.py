# Copyright (c) peclr_mm authors. All rights reserved.
"""Checkpoints that are never lost or mixed.

mmengine 0.10.7's ``CheckpointHook`` removes the oldest checkpoint *before*
writing the new one, so with ``max_keep_ckpts=1`` a run killed while saving
has no checkpoint left; it writes ``last_checkpoint`` by truncating it
first, and its resume gives up on an empty or dangling ``last_checkpoint``
although complete ``epoch_N.pth`` files lie beside it; and two runs started
into one work directory interleave their checkpoints and logs without a
word. Here:

- :func:`save_checkpoint_with_step` (installed over
  ``CheckpointHook._save_checkpoint_with_step`` by :mod:`peclr_mm.patches`)
  writes the new checkpoint (atomically, see
  :func:`peclr_mm.weights.saving.atomic_save_checkpoint`), then
  ``last_checkpoint`` atomically, and only then removes the checkpoints
  beyond ``max_keep_ckpts``;
- :func:`find_latest_checkpoint` (installed over mmengine's) falls back to
  the newest ``epoch_N.pth`` / ``iter_N.pth`` with a warning when
  ``last_checkpoint`` is empty or names a missing file;
- :class:`WorkDirLock` holds a work directory for one training run
  (``tools/train.py``): a second run into it is refused, naming the PID and
  host of the holder; the lock of a process that is gone is taken over.
"""
import json
import os
import os.path as osp
import re
import socket
import time
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.logging import print_log

from ..utils.io import atomic_write

__all__ = [
    'save_checkpoint_with_step', 'write_last_checkpoint',
    'find_latest_checkpoint', 'WorkDirLock', 'WorkDirBusyError'
]

_CKPT_RE = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
LOCK_NAME = '.peclr_mm_train.lock'


def write_last_checkpoint(work_dir: str, ckpt: str) -> None:
    """``work_dir/last_checkpoint`` naming ``ckpt``, written atomically.

    Args:
        work_dir: the run's work directory.
        ckpt: the path of the checkpoint to name, written as given.
    """

    def write(name: str) -> None:
        with open(name, 'w') as f:
            f.write(ckpt)

    atomic_write(osp.join(work_dir, 'last_checkpoint'), write)


def save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
    """``CheckpointHook._save_checkpoint_with_step`` with the old checkpoint
    removed only once the new one and ``last_checkpoint`` are complete.

    The bookkeeping (``keep_ckpt_ids`` in the message hub, saved inside
    the checkpoint) is mmengine's.

    Args:
        self: the ``CheckpointHook``.
        runner: the mmengine ``Runner`` that saves the checkpoint.
        step: the epoch or iteration number filled into the hook's
            ``filename_tmpl``.
        meta: meta information saved inside the checkpoint.
    """
    removed = None
    if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            removed = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir,
        ckpt_filename,
        self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler,
        meta=meta,
        by_epoch=self.by_epoch,
        backend_args=self.backend_args,
        **self.args)
    if not is_main_process():
        return
    write_last_checkpoint(runner.work_dir, self.last_ckpt)
    if removed is not None:
        old = self.file_backend.join_path(self.out_dir,
                                          self.filename_tmpl.format(removed))
        if self.file_backend.isfile(old):
            self.file_backend.remove(old)
        elif self.file_backend.isdir(old):  # deepspeed saves directories
            self.file_backend.rmtree(old)


def _newest_checkpoint(path: str) -> Optional[str]:
    found = []
    for name in os.listdir(path):
        m = _CKPT_RE.match(name)
        if m and osp.isfile(osp.join(path, name)):
            found.append((int(m.group(2)), osp.getmtime(osp.join(path,
                                                                 name)), name))
    return osp.join(path, max(found)[2]) if found else None


def find_latest_checkpoint(path: str) -> Optional[str]:
    """The checkpoint to resume from in work directory ``path``.

    ``last_checkpoint`` when it names a file that exists; otherwise (empty,
    dangling, absent) the newest ``epoch_N.pth`` / ``iter_N.pth`` in
    ``path``, with a warning; None when there is none.
    """
    save_file = osp.join(path, 'last_checkpoint')
    named = None
    if osp.isfile(save_file):
        with open(save_file) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return named
    fallback = _newest_checkpoint(path) if osp.isdir(path) else None
    if osp.isfile(save_file) or fallback:
        why = (
            'is empty' if not named else f'names {named}, which does not exist'
        ) if osp.isfile(save_file) else 'is missing'
        print_log(
            f'{save_file} {why}; ' +
            (f'resuming from the newest checkpoint {fallback}'
             if fallback else 'no epoch_*.pth or iter_*.pth to resume'),
            logger='current',
            level=30)
    else:
        print_log('Did not find last_checkpoint to be resumed.')
    return fallback


class WorkDirBusyError(RuntimeError):
    """Another live run holds the work directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkDirLock:
    """Hold ``work_dir`` for one training run.

    The lock file ``work_dir/.peclr_mm_train.lock`` (JSON: pid, host,
    started, what) is created exclusively. When it exists, a holder on this
    host whose process is gone is taken over with a warning; a live holder,
    or one on another host (whose process cannot be checked from here), is
    refused with :class:`WorkDirBusyError` naming it.

    Args:
        work_dir: the run's work directory.
        what: a description written into the lock (e.g. the config).
    """

    def __init__(self, work_dir: str, what: str = ''):
        self.path = osp.join(work_dir, LOCK_NAME)
        self.what = what
        self.held = False

    def _holder(self) -> dict:
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def acquire(self) -> 'WorkDirLock':
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        me = dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime('%Y-%m-%d %H:%M:%S'),
            what=self.what)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                             0o644)
            except FileExistsError:
                holder = self._holder()
                pid, host = holder.get('pid'), holder.get('host')
                if host == me['host'] and isinstance(
                        pid, int) and (pid == me['pid'] or not _alive(pid)):
                    print_log(
                        f'{self.path}: taking over the lock of process {pid} '
                        f'on {host}, which is gone',
                        logger='current',
                        level=30)
                    os.remove(self.path)
                    continue
                if not holder:  # being written by its holder this instant
                    time.sleep(0.2)
                    continue
                raise WorkDirBusyError(
                    f'work dir {osp.dirname(self.path)} is in use by another '
                    f'training run: process {pid} on {host} '
                    f'(since {holder.get("started")}, {holder.get("what")}); '
                    'choose another --work-dir, or remove '
                    f'{self.path} if that run is gone') from None
            with os.fdopen(fd, 'w') as f:
                json.dump(me, f)
            self.held = True
            return self
        raise WorkDirBusyError(f'could not take the lock {self.path}')

    def release(self) -> None:
        if self.held and self._holder().get('pid') == os.getpid():
            os.remove(self.path)
        self.held = False

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
