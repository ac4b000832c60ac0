# Copyright (c) peclr_mm authors. All rights reserved.
"""Writing the synthetic set in the FreiHAND layout on disk.

Every sample draws from its own generator seeded by ``(seed, split, k)``
(and the version for its appearance), so the output does not depend on how
the work is split across processes. The set is built in a hidden sibling
folder (which also holds :data:`MARKER`) and moved into place in one
``os.replace``; ``overwrite`` replaces only sets this generator wrote.
Needs only NumPy, OpenCV and the standard library.
"""
import json
import multiprocessing
import os
import os.path as osp
import re
import shutil
import time
from contextlib import contextmanager
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from .hand_model import IMG_SIZE, NUM_JOINTS, sample_hand
from .renderer import layout_hand, paint_hand

__all__ = [
    'generate_freihand', 'clean_stale_partials', 'partial_folder', 'mapped',
    'write_jpeg', 'check_counts', 'MARKER'
]

JPEG_QUALITY = 90
_SPLITS = (('training', 0), ('evaluation', 1))
# Stream tags of the per-sample seeds: geometry, appearance of version v.
# (SeedSequence pads short entropy with zeros, so the streams need a tag.)
_GEOMETRY, _APPEARANCE = 0, 1


def _rng(seed: int, split_id: int, k: int, *stream: int):
    return np.random.default_rng([seed, split_id, k, *stream])


def _round(xyz: np.ndarray, K: np.ndarray):
    """The values as stored: what the images are rendered from."""
    return np.round(xyz, 7), np.round(K, 4)


def _work(job: tuple) -> Tuple[int, np.ndarray, np.ndarray]:
    """Generate samples ``start:stop`` of a split with all their versions;
    returns (start, xyz, K)."""
    root, split, split_id, start, stop, num, versions, seed, quality = job
    folder = osp.join(root, split, 'rgb')
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    xyzs, Ks = [], []
    for k in range(start, stop):
        xyz, K = _round(*sample_hand(_rng(seed, split_id, k, _GEOMETRY)))
        layout = layout_hand(xyz, K, IMG_SIZE)
        for v in range(versions):
            img = paint_hand(layout, _rng(seed, split_id, k, _APPEARANCE, v))
            write_jpeg(osp.join(folder, f'{k + num * v:08d}.jpg'), img, params)
        xyzs.append(xyz)
        Ks.append(K)
    return start, np.array(xyzs).reshape(-1, NUM_JOINTS,
                                         3), np.array(Ks).reshape(-1, 3, 3)


def check_counts(*items: tuple) -> None:
    """Refuse any ``(name, value, low)`` whose value is not an integer
    >= ``low``, naming it."""
    for name, value, low in items:
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f'{name} must be an integer >= {low}, got '
                             f'{value!r}')


def write_jpeg(path: str, img: np.ndarray, params: list) -> None:
    """Encode ``img`` as JPEG (OpenCV ``params``) and write it to
    ``path``.

    Args:
        path: the file to write; its folder must exist.
        img: (H, W, 3) uint8 BGR image (or (H, W) grey).
        params: ``cv2.imencode`` flags, e.g.
            ``[cv2.IMWRITE_JPEG_QUALITY, 90]``.

    Raises:
        RuntimeError: OpenCV could not encode ``img``.
        OSError: the file could not be written.
    """
    ok, buf = cv2.imencode('.jpg', img, params)
    if not ok:
        raise RuntimeError(f'JPEG encoding failed for {path}')
    with open(path, 'wb') as f:
        f.write(buf.tobytes())


@contextmanager
def mapped(work: Callable, jobs: list, workers: int):
    """``work`` over ``jobs`` in order, in ``workers`` processes (one:
    here); the pool is torn down when the caller is done or fails.

    Args:
        work: a picklable function of one job.
        jobs: the jobs, in order.
        workers: the number of processes; 1 (or fewer) runs in this one.

    Yields:
        Iterator: ``work(job)`` for each job, in the order of ``jobs``,
        computed lazily.
    """
    pool = _pool(workers) if workers > 1 else None
    try:
        yield map(work, jobs) if pool is None else pool.imap(work, jobs)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _pool(workers: int):
    """A process pool; forked where possible, so workers need not import
    the package again."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context('fork' if 'fork' in methods else None)
    # OpenCV's thread pool does not survive a fork (a forked child that
    # touches it can wait forever), so fork while OpenCV is single-threaded
    # and the workers never use it.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return ctx.Pool(workers)
    finally:
        cv2.setNumThreads(threads)


#: Written into every set (and every partial set) this generator makes:
#: ``--overwrite`` replaces only folders that carry it.
MARKER = '.peclr_mm_synthetic.json'
_TOP_LEVEL = {MARKER, 'training', 'evaluation'} | {
    f'{split}_{what}.json'
    for split, _ in _SPLITS
    for what in ('xyz', 'K', 'scale')
}
_IMAGE_RE = re.compile(r'^\d{8}\.jpg$')


def _foreign_entries(out_dir: str, limit: int = 5) -> List[str]:
    """Entries of ``out_dir`` that this generator does not write."""
    foreign = [e for e in sorted(os.listdir(out_dir)) if e not in _TOP_LEVEL]
    for split, _ in _SPLITS:
        folder = osp.join(out_dir, split)
        if not osp.isdir(folder) or osp.islink(folder):
            continue
        foreign += [
            osp.join(split, e) for e in sorted(os.listdir(folder))
            if e != 'rgb'
        ]
        rgb = osp.join(folder, 'rgb')
        if osp.isdir(rgb) and not osp.islink(rgb):
            foreign += [
                osp.join(split, 'rgb', e) for e in sorted(os.listdir(rgb))
                if not _IMAGE_RE.match(e)
            ]
        if len(foreign) >= limit:
            break
    return foreign[:limit]


def _check_target(out_dir: str, overwrite: bool) -> bool:
    """Return whether ``out_dir`` holds a set to be replaced.

    Raises:
        FileExistsError: ``out_dir`` is not a folder; it is not empty and
            ``overwrite`` is off; or ``overwrite`` is on but the folder was
            not written by this generator (no :data:`MARKER`) or holds files
            it did not write.
    """
    if not osp.lexists(out_dir):
        return False
    if not osp.isdir(out_dir) or osp.islink(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a folder')
    if not os.listdir(out_dir):
        return True
    if not overwrite:
        raise FileExistsError(
            f'{out_dir} exists and is not empty; pass overwrite=True '
            '(--overwrite) to replace it')
    if not osp.isfile(osp.join(out_dir, MARKER)):
        raise FileExistsError(
            f'refusing to overwrite {out_dir}: it was not written by this '
            f'generator (no {MARKER} in it); choose another folder or remove '
            'it yourself')
    foreign = _foreign_entries(out_dir)
    if foreign:
        raise FileExistsError(
            f'refusing to overwrite {out_dir}: it holds files this generator '
            f'did not write ({", ".join(foreign)}); move them out first')
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_stale_partials(out_dir: str) -> List[str]:
    """Remove the hidden ``.NAME.partial-PID`` folders that a killed
    generator left beside ``out_dir`` (its process is gone and the folder
    carries :data:`MARKER` or is empty); return what was removed."""
    parent, base = osp.split(osp.abspath(out_dir))
    pattern = re.compile(r'^\.' + re.escape(base) +
                         r'\.partial-(\d+)_*(\.old)?$')
    removed = []
    if not osp.isdir(parent):
        return removed
    for entry in os.listdir(parent):
        match = pattern.match(entry)
        path = osp.join(parent, entry)
        if (not match or _pid_alive(int(match.group(1))) or not osp.isdir(path)
                or osp.islink(path)):
            continue
        if os.listdir(path) and not osp.isfile(osp.join(path, MARKER)):
            continue
        shutil.rmtree(path)
        removed.append(path)
    return removed


def partial_folder(out_dir: str) -> str:
    """A fresh hidden sibling ``.NAME.partial-PID`` of ``out_dir`` to build
    a set in (stale ones of killed runs removed first), not yet created."""
    clean_stale_partials(out_dir)
    parent, base = osp.split(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{base}.partial-{os.getpid()}')
    while osp.lexists(tmp):
        tmp += '_'
    return tmp


def _dump(path: str, obj) -> None:
    # A plain write: every file goes into the hidden partial folder, which
    # appears at ``out_dir`` whole or not at all (one ``os.replace``).
    with open(path, 'w') as f:
        json.dump(obj, f)


def generate_freihand(out_dir: str,
                      num_train: int,
                      num_eval: int,
                      versions: int = 4,
                      seed: int = 0,
                      workers: int = 1,
                      overwrite: bool = False,
                      quality: int = JPEG_QUALITY,
                      progress: Optional[Callable[[int, int],
                                                  None]] = None) -> Dict:
    """Write a synthetic data set in the FreiHAND layout.

    The set is built in a hidden sibling folder and moved to ``out_dir`` in
    one ``os.replace``, so an interrupted run never leaves a partial set
    there. The output depends on ``seed`` only, not on ``workers``.

    Args:
        out_dir (str): the data root to create.
        num_train (int): training annotations N (images: N * versions).
        num_eval (int): evaluation samples M (one image each).
        versions (int): images per training annotation; image ``k + N * v``
            is version v of annotation k. Defaults to 4 (as FreiHAND).
        seed (int): non-negative seed. Defaults to 0.
        workers (int): processes. Defaults to 1.
        overwrite (bool): replace a non-empty ``out_dir``, only if this
            generator wrote it (:data:`MARKER`) and nothing else was added
            to it. Defaults to False. Partial sets that a killed run left
            beside ``out_dir`` are removed first.
        quality (int): JPEG quality. Defaults to 90.
        progress (callable, optional): called as ``progress(done, total)``
            in images after each finished chunk.

    Returns:
        dict: ``out_dir``, ``num_train``, ``num_eval``, ``versions``,
        ``num_images``, ``seconds`` and ``images_per_s``.

    Raises:
        FileExistsError: ``out_dir`` is a file, a non-empty folder without
            ``overwrite``, or a folder this generator did not write.
        ValueError: a count or the seed is invalid.
    """
    check_counts(('num_train', num_train, 1), ('num_eval', num_eval, 1),
                 ('versions', versions, 1), ('seed', seed, 0),
                 ('workers', workers, 1), ('quality', quality, 1))
    out_dir = osp.abspath(out_dir)
    _check_target(out_dir, overwrite)
    tmp = partial_folder(out_dir)
    start_time = time.perf_counter()
    counts = dict(training=(num_train, versions), evaluation=(num_eval, 1))
    total = num_train * versions + num_eval
    os.mkdir(tmp)
    try:
        _dump(
            osp.join(tmp, MARKER),
            dict(
                generator='peclr_synthetic.generate_freihand',
                num_train=int(num_train),
                num_eval=int(num_eval),
                versions=int(versions),
                seed=int(seed),
                quality=int(quality)))
        jobs = []
        for split, split_id in _SPLITS:
            num, vers = counts[split]
            os.makedirs(osp.join(tmp, split, 'rgb'))
            chunk = max(1, min(64, -(-num // (4 * workers))))
            jobs += [(tmp, split, split_id, s, min(s + chunk, num), num, vers,
                      int(seed), int(quality)) for s in range(0, num, chunk)]
        results: Dict[str, list] = dict(training=[], evaluation=[])
        done = 0
        with mapped(_work, jobs, workers) as outputs:
            for job, out in zip(jobs, outputs):
                results[job[1]].append(out)
                done += (job[4] - job[3]) * job[6]
                if progress is not None:
                    progress(done, total)
        for split, _ in _SPLITS:
            parts = sorted(results[split], key=lambda r: r[0])
            xyz = np.concatenate([p[1] for p in parts]
                                 or [np.zeros((0, NUM_JOINTS, 3))])
            K = np.concatenate([p[2] for p in parts] or [np.zeros((0, 3, 3))])
            xyz_list = xyz.tolist()
            # The scale is computed from the values as stored, so readers
            # recompute it exactly.
            stored = np.array(
                xyz_list, dtype=np.float64).reshape(-1, NUM_JOINTS, 3)
            scale = np.linalg.norm(stored[:, 9] - stored[:, 10], axis=1)
            _dump(osp.join(tmp, f'{split}_xyz.json'), xyz_list)
            _dump(osp.join(tmp, f'{split}_K.json'), K.tolist())
            _dump(osp.join(tmp, f'{split}_scale.json'), scale.tolist())
        if _check_target(out_dir, overwrite):
            old = tmp + '.old'
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start_time
    return dict(
        out_dir=out_dir,
        num_train=num_train,
        num_eval=num_eval,
        versions=versions,
        num_images=total,
        seconds=seconds,
        images_per_s=total / max(seconds, 1e-9))
