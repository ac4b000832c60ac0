# Copyright (c) peclr_mm authors. All rights reserved.
"""A reproduction's state kept outside its work folder, so that a study
outlives the folder (a new machine, a wiped disk) and picks up where it
stopped.

``reproduce_claim.py --state DIR`` restores what ``DIR`` holds into the
work folder before it starts (never replacing a file there) and writes
its progress back after every stage and run. ``DIR`` then holds, beside a
manifest ``state.json`` (each file's SHA-256 and kind):

- the pretraining checkpoints of the evaluated epochs, stripped to
  ``meta`` and ``state_dict`` (``strip``; a third of a full checkpoint
  under Adam), and, while a schedule is unfinished, its latest checkpoint
  whole (``resume``: optimizer and schedulers, which ``--resume`` needs),
  replaced as the schedule moves on;
- the pretraining logs' ``scalars.json`` (the stage's time comes from
  them);
- every finished run's record: the downstream runs' ``metrics.json``, the
  ridge rows and the latent analyses' ``equivariance.json``.

Not kept: the generated data (regenerated from the budget's seed), the
downstream runs' checkpoints and logs, and the similar-hand pairs
(``similar/``, mined again in seconds to minutes).
"""
import glob
import hashlib
import os
import os.path as osp
import shutil
from typing import Dict, Iterable, List, Tuple

from peclr_mm.utils.checkpoint import strip_checkpoint
from peclr_mm.utils.io import atomic_write, atomic_write_json, read_json

MANIFEST = 'state.json'
#: the finished runs' records, as globs relative to the work folder
RECORDS = ('probe/*/metrics.json', 'finetune/*/metrics.json', 'ridge/*.json',
           'latent/*/equivariance.json', 'pretrain_*/*/vis_data/scalars.json')


def sha256(path: str) -> str:
    """The file's SHA-256, hex."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def _epoch(path: str) -> int:
    return int(osp.basename(path)[len('epoch_'):-len('.pth')])


def wanted(work: str, kinds: Iterable[str],
           epochs: List[int]) -> Dict[str, str]:
    """What the state should hold now: ``{relative path: kind}`` with kind
    ``strip``, ``resume`` or ``copy``.

    Args:
        work: the study's work folder.
        kinds: the pretrained encoders (``pretrain_{kind}`` folders).
        epochs: the evaluated epochs; the schedule stops at the largest.

    Returns:
        dict: each file of the work folder to keep, and how.
    """
    out = {}
    for kind in kinds:
        pre = f'pretrain_{kind}'
        done = sorted(
            _epoch(p) for p in glob.glob(osp.join(work, pre, 'epoch_*.pth')))
        for e in epochs:
            if e in done:
                out[f'{pre}/epoch_{e}.pth'] = 'strip'
        if done and done[-1] < max(epochs):
            out[f'{pre}/epoch_{done[-1]}.pth'] = 'resume'
    for pattern in RECORDS:
        for path in sorted(glob.glob(osp.join(work, pattern))):
            out[osp.relpath(path, work)] = 'copy'
    return out


def _manifest(state: str) -> dict:
    path = osp.join(state, MANIFEST)
    if not osp.isfile(path):
        return {}
    files = read_json(path, 'the state manifest').get('files')
    if not isinstance(files, dict):
        raise ValueError(f'{path}: field \'files\' must map relative paths '
                         'to {sha256, kind, source_sha256}')
    return files


def save_state(work: str, state: str, kinds: Iterable[str],
               epochs: List[int]) -> Tuple[int, int]:
    """Bring ``state`` up to date with ``work``.

    A file is (re)written when it is new or its source has changed since
    it was written (the manifest keeps the source's SHA-256; a source that
    is the state's own file, restored, is unchanged); a resume
    checkpoint the schedule has moved past is removed (the state wrote
    it). Files of ``state`` that the manifest does not list are never
    touched.

    Args:
        work: the study's work folder.
        state: the state folder (created if missing).
        kinds: the pretrained encoders.
        epochs: the evaluated epochs.

    Returns:
        tuple: (files written, files removed).
    """
    files = _manifest(state)
    now = wanted(work, kinds, epochs)
    written = removed = 0
    for rel, kind in now.items():
        src, dst = osp.join(work, rel), osp.join(state, rel)
        src_sha = sha256(src)
        old = files.get(rel)
        # unchanged since written, or the restored copy of what was
        if old and old['kind'] == kind and src_sha in (
                old['source_sha256'], old['sha256']) and osp.isfile(dst):
            continue
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if kind == 'strip':
            strip_checkpoint(src, dst)
        else:
            atomic_write(dst, lambda tmp, src=src: shutil.copyfile(src, tmp))
        files[rel] = dict(sha256=sha256(dst), kind=kind, source_sha256=src_sha)
        written += 1
    for rel in [r for r, f in files.items() if r not in now]:
        if files[rel]['kind'] == 'resume':
            path = osp.join(state, rel)
            if osp.isfile(path):
                os.remove(path)
            del files[rel]
            removed += 1
    if written or removed:
        atomic_write_json(
            osp.join(state, MANIFEST), dict(files=files), indent=1)
    return written, removed


def restore_state(state: str, work: str) -> int:
    """Copy what ``state`` holds into ``work`` where ``work`` lacks it,
    each file checked against the manifest first; an unfinished
    schedule's resume checkpoint is made its run's ``last_checkpoint``
    (unless the run has its own).

    Args:
        state: the state folder (nothing happens if it has no manifest).
        work: the study's work folder.

    Returns:
        int: the files copied.

    Raises:
        ValueError: a listed file is missing or differs from its
            recorded SHA-256; the message names it.
    """
    files = _manifest(state)
    copied = 0
    for rel, f in sorted(files.items()):
        src, dst = osp.join(state, rel), osp.join(work, rel)
        if not osp.isfile(src):
            raise ValueError(f'state {state}: {rel} is listed in {MANIFEST} '
                             'but missing')
        if sha256(src) != f['sha256']:
            raise ValueError(f'state {state}: {rel} differs from its SHA-256 '
                             f'in {MANIFEST} (damaged or changed by hand)')
        if not osp.isfile(dst):
            os.makedirs(osp.dirname(dst), exist_ok=True)
            atomic_write(dst, lambda tmp, src=src: shutil.copyfile(src, tmp))
            copied += 1
        last = osp.join(osp.dirname(dst), 'last_checkpoint')
        if f['kind'] == 'resume' and not osp.isfile(last):
            atomic_write(last, lambda tmp, p=dst: _write_text(tmp, p))
    return copied


def _write_text(path: str, path_written: str) -> None:
    # mmengine's last_checkpoint: the checkpoint's absolute path
    with open(path, 'w') as f:
        f.write(osp.abspath(path_written))
