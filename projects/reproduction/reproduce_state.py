# Copyright (c) peclr_mm authors. All rights reserved.
"""A reproduction's state kept outside its work folder, so that a study
outlives the folder (a new machine, a wiped disk) and picks up where it
stopped.

``reproduce_claim.py --state DIR`` restores what ``DIR`` holds into the
work folder before it starts (never replacing a file there) and writes
its progress back after every pretraining epoch, stage and run. ``DIR``
then holds, beside a manifest ``state.json`` (each file's SHA-256, kind
and the SHA-256 of what it was made from):

- the pretraining checkpoints of the evaluated epochs, stripped to
  ``meta`` and ``state_dict`` (``strip``; a third of a full checkpoint
  under Adam), and, while a schedule is short of its last epoch, its
  newest checkpoint whole (``resume``: optimizer, schedulers and message
  hub, which ``--resume`` needs), replaced as the schedule moves on;
- the pretraining logs' ``scalars.json`` (the stage's time comes from
  them);
- every finished run's record: the downstream runs' ``metrics.json``, the
  ridge rows, the latent analyses' ``equivariance.json`` and the mined
  similar-hand pairs with their records (a pseudo-label labeller's own
  checkpoint is not kept, so its pairs must be).

Not kept: the generated data (regenerated from the budget's seed;
``data.json`` records their fingerprint, and a state refuses data whose
annotations differ), and the downstream runs' checkpoints and logs.

Every listed file matches its SHA-256 at every moment: an entry leaves
the manifest before its file is replaced or removed and comes back after,
and a lock keeps two processes from writing one state at once.
"""
import fcntl
import glob
import hashlib
import os
import os.path as osp
import re
import shutil
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, List, Tuple

from mmengine.hooks import Hook

from peclr_mm.utils.io import atomic_write, atomic_write_json, read_json
from peclr_mm.weights import safe_torch_load, strip_checkpoint

MANIFEST = 'state.json'
#: the fingerprint of the data the state's records were measured on
DATA_RECORD = 'data.json'
#: the finished runs' records, as globs relative to the work folder
RECORDS = ('probe/*/metrics.json', 'finetune/*/metrics.json', 'ridge/*.json',
           'latent/*/equivariance.json', 'pretrain_*/*/vis_data/scalars.json',
           'similar/*.npz', 'similar/*.json')
_EPOCH = re.compile(r'^epoch_(\d+)\.pth$')


def sha256(path: str) -> str:
    """The file's SHA-256, hex."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def check_folders(work: str, state: str, what: str = 'work') -> None:
    """Refuse a state folder that is the work (or data) folder or lies
    inside it, or the other way round: stripping would then write over the
    checkpoints it reads.

    Raises:
        ValueError: the folders overlap; the message names both.
    """
    w, s = osp.realpath(work), osp.realpath(state)
    if w == s or s.startswith(w + os.sep) or w.startswith(s + os.sep):
        raise ValueError(f'--state {state} and the {what} folder {work} must '
                         'not contain one another')


def done_epochs(folder: str) -> List[int]:
    """The epochs of the ``epoch_N.pth`` checkpoints in ``folder``,
    sorted."""
    if not osp.isdir(folder):
        return []
    return sorted(
        int(m.group(1)) for m in map(_EPOCH.match, os.listdir(folder)) if m)


def resumable(path: str) -> bool:
    """Whether checkpoint ``path`` holds the training state that mmengine's
    resume needs (a stripped one does not)."""
    ckpt = safe_torch_load(path, map_location='cpu')
    return isinstance(ckpt, dict) and {'message_hub', 'optimizer'} <= set(ckpt)


def wanted(work: str, kinds: Iterable[str], epochs: List[int],
           schedule: int) -> Dict[str, str]:
    """What the state should hold now: ``{relative path: kind}`` with kind
    ``strip``, ``resume`` or ``copy``.

    Args:
        work: the study's work folder.
        kinds: the pretrained encoders (``pretrain_{kind}`` folders).
        epochs: the evaluated epochs.
        schedule: the schedule's length in epochs; short of it, the newest
            checkpoint is kept whole to resume from.

    Returns:
        dict: each file of the work folder to keep, and how.
    """
    out = {}
    for kind in kinds:
        pre = f'pretrain_{kind}'
        done = done_epochs(osp.join(work, pre))
        for e in epochs:
            if e in done:
                out[f'{pre}/epoch_{e}.pth'] = 'strip'
        if done and done[-1] < schedule:
            out[f'{pre}/epoch_{done[-1]}.pth'] = 'resume'
    root = glob.escape(work)
    for pattern in RECORDS:
        for path in sorted(glob.glob(osp.join(root, pattern))):
            out[osp.relpath(path, work)] = 'copy'
    return out


@contextmanager
def _locked(state: str):
    os.makedirs(state, exist_ok=True)
    with open(osp.join(state, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _epoch_of(rel: str) -> int:
    return int(_EPOCH.match(osp.basename(rel)).group(1))


def _resume_epoch(files: dict, pre: str) -> int:
    """The newest epoch the manifest keeps whole for folder ``pre`` (0:
    none)."""
    return max([
        _epoch_of(r) for r, f in files.items()
        if f['kind'] == 'resume' and osp.dirname(r) == pre
    ],
               default=0)


def _manifest(state: str) -> dict:
    path = osp.join(state, MANIFEST)
    if not osp.isfile(path):
        return {}
    files = read_json(path, 'the state manifest').get('files')
    if not isinstance(files, dict):
        raise ValueError(f'{path}: field \'files\' must map relative paths '
                         'to {sha256, kind, source_sha256}')
    return files


def _write_manifest(state: str, files: dict) -> None:
    atomic_write_json(osp.join(state, MANIFEST), dict(files=files), indent=1)


#: the annotation files whose bytes fingerprint a study's data
DATA_FILES = ('training_xyz.json', 'training_K.json', 'training_scale.json',
              'evaluation_xyz.json', 'evaluation_K.json',
              'evaluation_scale.json')


def data_fingerprint(data: str, images: int = 64) -> dict:
    """SHA-256 of a data set's annotation files (``annotations``) and of
    its first ``images`` training images (``images``), the bytes of each
    in order."""
    out = {}
    for key, paths in (('annotations', [
            osp.join(data, f) for f in DATA_FILES
            if osp.isfile(osp.join(data, f))
    ]), ('images', [
            osp.join(data, 'training', 'rgb', f) for f in sorted(
                os.listdir(osp.join(data, 'training', 'rgb')))[:images]
    ])):
        h = hashlib.sha256()
        for path in paths:
            h.update(osp.basename(path).encode())
            h.update(bytes.fromhex(sha256(path)))
        out[key] = h.hexdigest()
    return out


def check_data(state: str, data: str) -> None:
    """Record the data's fingerprint in the state (``data.json``) the first
    time; later, refuse data whose annotations differ (the kept records
    were measured on other hands) and warn when only the images do (a
    regenerated set whose renderer rounded some pixels otherwise on
    another machine).

    Raises:
        ValueError: the annotations differ from the recorded ones; the
            message names both folders.
    """
    check_folders(data, state, 'data')
    now = data_fingerprint(data)
    path = osp.join(state, DATA_RECORD)
    with _locked(state):
        if not osp.isfile(path):
            if _manifest(state):
                print(
                    f'state {state}: the fingerprint of {data} is '
                    'recorded now; the records kept before it are '
                    'trusted to come from the same data',
                    flush=True)
            atomic_write_json(path, now, indent=1)
            return
        kept = read_json(path, 'the data\'s fingerprint')
    if kept.get('annotations') != now['annotations']:
        raise ValueError(
            f'data {data}: its annotations differ from those the state '
            f'{state} was made on ({DATA_RECORD}): its records would mix two '
            'data sets. Use the original data (--data) or a new state '
            'folder')
    if kept['images'] != now['images']:
        print(
            f'warning: data {data}: the annotations match the state\'s, '
            'but its first training images differ in their bytes '
            '(regenerated on another machine?)',
            flush=True)


def _copy(src: str, dst: str) -> None:
    os.makedirs(osp.dirname(dst), exist_ok=True)
    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def save_state(work: str, state: str, kinds: Iterable[str], epochs: List[int],
               schedule: int) -> Tuple[int, int]:
    """Bring ``state`` up to date with ``work``.

    A file is (re)written when it is new or its source has changed since
    it was written (a source that is the state's own file, restored, is
    unchanged). A resume checkpoint of an encoder of ``kinds`` is removed
    once that encoder has a newer one or has finished its schedule; files
    the manifest does not list, and other budgets' encoders, are never
    touched. A checkpoint without training state (a restored stripped
    one) is never kept as ``resume``.

    Args:
        work: the study's work folder.
        state: the state folder (created if missing).
        kinds: the pretrained encoders.
        epochs: the evaluated epochs.
        schedule: the schedule's length in epochs.

    Returns:
        tuple: (files written, files removed).
    """
    check_folders(work, state)
    with _locked(state):
        files = _manifest(state)
        now = wanted(work, kinds, epochs, schedule)
        written = removed = 0
        for rel, kind in now.items():
            src, dst = osp.join(work, rel), osp.join(state, rel)
            if kind == 'resume':
                ahead = _resume_epoch(files, osp.dirname(rel))
                if ahead > _epoch_of(rel):
                    # the state went further elsewhere: keep its checkpoint
                    print(
                        f'state {state}: keeps {osp.dirname(rel)} at '
                        f'epoch {ahead}, ahead of {src}',
                        flush=True)
                    kind = 'strip' if _epoch_of(rel) in epochs else None
                elif not resumable(src):
                    # weights only (restored stripped): kept as what it is
                    kind = 'strip' if _epoch_of(rel) in epochs else None
                if kind is None:
                    continue
            src_sha = sha256(src)
            old = files.get(rel)
            # unchanged since written (or the restored copy of what was),
            # and the state's copy intact
            if old and old['kind'] == kind and src_sha in (
                    old['source_sha256'], old['sha256']
            ) and osp.isfile(dst) and sha256(dst) == old['sha256']:
                continue
            if old:  # unlisted while it changes
                del files[rel]
                _write_manifest(state, files)
            if kind == 'strip':
                os.makedirs(osp.dirname(dst), exist_ok=True)
                strip_checkpoint(src, dst)
            else:
                _copy(src, dst)
            files[rel] = dict(
                sha256=sha256(dst), kind=kind, source_sha256=src_sha)
            _write_manifest(state, files)
            written += 1
        for rel in [r for r, f in files.items() if f['kind'] == 'resume']:
            pre = osp.dirname(rel)
            if rel in now or pre[len('pretrain_'):] not in kinds:
                continue
            done = done_epochs(osp.join(work, pre))
            # a newer whole checkpoint of the same schedule is kept, or
            # the schedule has ended here
            newer = _resume_epoch(files, pre) > _epoch_of(rel)
            if newer or (done and done[-1] >= schedule):
                del files[rel]
                _write_manifest(state, files)
                if osp.isfile(osp.join(state, rel)):
                    os.remove(osp.join(state, rel))
                removed += 1
    return written, removed


def verify_state(state: str) -> dict:
    """Check every file the manifest of ``state`` lists against its
    SHA-256.

    Args:
        state: the state folder.

    Returns:
        dict: the manifest's files (``{relative path: {sha256, kind,
        source_sha256}}``), empty without a manifest.

    Raises:
        ValueError: a listed file is missing or differs; the message names
            it.
    """
    files = _manifest(state)
    for rel, f in sorted(files.items()):
        src = osp.join(state, rel)
        if not osp.isfile(src):
            raise ValueError(f'state {state}: {rel} is listed in {MANIFEST} '
                             'but missing')
        if sha256(src) != f['sha256']:
            raise ValueError(f'state {state}: {rel} differs from its SHA-256 '
                             f'in {MANIFEST} (damaged or changed by hand)')
    return files


def restore_state(state: str, work: str) -> int:
    """Copy what ``state`` holds into ``work`` where ``work`` lacks it,
    after every listed file has been checked against the manifest; an
    unfinished schedule's resume checkpoint is made its run's
    ``last_checkpoint`` unless that names a newer existing checkpoint.

    Args:
        state: the state folder (nothing happens if it has no manifest).
        work: the study's work folder.

    Returns:
        int: the files copied.

    Raises:
        ValueError: a listed file is missing or differs from its
            recorded SHA-256 (nothing is copied then); the message names
            it.
    """
    if not osp.isfile(osp.join(state, MANIFEST)):
        return 0
    check_folders(work, state)
    with _locked(state):
        files = verify_state(state)
        copied = 0
        for rel, f in sorted(files.items()):
            dst = osp.join(work, rel)
            if not osp.isfile(dst):
                _copy(osp.join(state, rel), dst)
                copied += 1
            last = osp.join(osp.dirname(dst), 'last_checkpoint')
            if f['kind'] == 'resume' and _named_epoch(last) < _epoch_of(rel):
                atomic_write(last, lambda tmp, p=dst: _write_text(tmp, p))
    return copied


def _named_epoch(last: str) -> int:
    """The epoch of the checkpoint a ``last_checkpoint`` file names, if
    that file exists (0: none)."""
    if not osp.isfile(last):
        return 0
    with open(last) as f:
        named = f.read().strip()
    m = _EPOCH.match(osp.basename(named))
    return int(m.group(1)) if m and osp.isfile(named) else 0


def _write_text(path: str, checkpoint: str) -> None:
    # mmengine's last_checkpoint: the checkpoint's absolute path
    with open(path, 'w') as f:
        f.write(osp.abspath(checkpoint))


class KeepStateHook(Hook):
    """Call ``keep`` after every training epoch, once that epoch's
    checkpoint is written (the lowest priority runs after
    ``CheckpointHook``), so that a pretraining's state is kept epoch by
    epoch."""

    priority = 'LOWEST'

    def __init__(self, keep: Callable[[], object]):
        self.keep = keep

    def after_train_epoch(self, runner) -> None:
        self.keep()


def check_resumable(folder: str) -> None:
    """Refuse to train on in ``folder`` from a checkpoint without training
    state (a stripped one restored from a state whose whole checkpoint was
    not kept): mmengine would fail on its missing message hub.

    Raises:
        ValueError: the checkpoint it would resume from is stripped; the
            message names it.
    """
    from peclr_mm.weights.checkpoint_safety import find_latest_checkpoint
    ckpt = find_latest_checkpoint(folder) if osp.isdir(folder) else None
    if ckpt is not None and not resumable(ckpt):
        raise ValueError(
            f'{ckpt} holds weights only (a stripped checkpoint): the '
            'schedule cannot continue from it. Train this encoder anew in '
            'an empty folder, or restore a state that kept its whole '
            'checkpoint')


def main(argv=None) -> int:
    """``python -m projects.reproduction.reproduce_state DIR``: check a state
    folder and list what it keeps."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__.split('\n')[0])
    parser.add_argument('state', help='the state folder (with state.json)')
    args = parser.parse_args(argv)
    try:
        files = verify_state(args.state)
    except ValueError as exc:
        print(f'error: {exc}')
        return 1
    if not files:
        print(f'{args.state}: no {MANIFEST}, nothing kept')
        return 1
    for rel, f in sorted(files.items()):
        size = osp.getsize(osp.join(args.state, rel)) / 2**20
        print(f'{f["kind"]:6s} {size:7.2f} MiB  {rel}')
    print(f'{len(files)} files match their SHA-256')
    return 0


if __name__ == '__main__':
    import sys
    sys.exit(main())
