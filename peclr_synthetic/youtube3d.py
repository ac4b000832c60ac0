# Copyright (c) peclr_mm authors. All rights reserved.
"""Synthetic hands written in the YouTube3DHands layout.

YouTube3DHands (Kulon et al., CVPR 2020) ships one COCO-like json per split
and asks users to extract the frames of the listed YouTube videos. This
writer makes a stand-in with the same layout, so that
:class:`~peclr_mm.datasets.YouTube3DHandsDataset` and the FreiHAND +
YouTube3DHands pretraining mix run at the real size::

    OUT/youtube_<split>.json     {"images": [{"id", "name", "width",
                                   "height"}], "annotations": [{"id",
                                   "image_id", "vertices" (778 x 3),
                                   "is_left"}]}
    OUT/youtube/<video>/video/frames/<n>.jpg

The json names the frames ``.png`` while the files are ``.jpg``, as
PeCLR's frame extraction writes them (the reader accepts either). Every
frame holds one hand, rendered as in :mod:`.renderer` and pasted by its mask
into a wider frame with its own background; left hands are the mirror image
of a right hand. The 778 "vertices" are points of the hand's mask (its four
extreme pixels among them), so the box the reader derives from them is the
drawn hand's extent; their z is the depth of the nearest joint relative to
the wrist, in metres. The set is built in a hidden sibling folder and moved
into place in one ``os.replace``. Needs only NumPy, OpenCV and the standard
library.
"""
import json
import os
import os.path as osp
import shutil
import time
from typing import Callable, Dict, Optional, Tuple

import cv2
import numpy as np

from .hand_model import IMG_SIZE, project, sample_hand
from .renderer import procedural_background, render_hand, skin_tone
from .writer import (JPEG_QUALITY, MARKER, check_counts, mapped,
                     partial_folder, write_jpeg)

__all__ = ['generate_youtube3d', 'YT3D_TRAIN_HANDS', 'NUM_VERTICES']

#: Hands in the official training split (Kulon et al., 2020).
YT3D_TRAIN_HANDS = 47125
#: MANO vertices per hand.
NUM_VERTICES = 778
_SPLIT_ID = 2  # seed tag: FreiHAND's splits use 0 and 1
_FRAMES_PER_VIDEO = 500


def _frame_name(k: int) -> str:
    """The json's name of frame k (``.png``, as the official lists)."""
    video, n = divmod(k, _FRAMES_PER_VIDEO)
    return f'youtube/video{video:04d}/video/frames/{n}.png'


def _is_left(k: int, left_every: int) -> bool:
    """Every ``left_every``-th hand is a left hand."""
    return k % left_every == left_every - 1


def _hand_frame(k: int, seed: int, width: int, height: int,
                left: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame k: the BGR image, the (778, 3) vertices and the hand's mask
    (height, width) bool."""
    rng = np.random.default_rng([seed, _SPLIT_ID, k])
    xyz, K = sample_hand(rng)
    crop, mask = render_hand(xyz, K, rng)
    mask = mask > 0
    frame = procedural_background(rng, max(width, height), skin_tone(rng))
    frame = np.ascontiguousarray(frame[:height, :width])
    ox = int(rng.integers(0, width - IMG_SIZE + 1))
    oy = int(rng.integers(0, height - IMG_SIZE + 1))
    window = frame[oy:oy + IMG_SIZE, ox:ox + IMG_SIZE]
    window[mask] = crop[mask]
    full = np.zeros((height, width), bool)
    full[oy:oy + IMG_SIZE, ox:ox + IMG_SIZE] = mask
    ys, xs = np.nonzero(mask)
    extremes = [xs.argmin(), xs.argmax(), ys.argmin(), ys.argmax()]
    rest = rng.choice(len(xs), NUM_VERTICES - 4, replace=len(xs) < 774)
    pick = np.concatenate([extremes, rest])
    px = xs[pick].astype(np.float64)
    py = ys[pick].astype(np.float64)
    # depth of the nearest joint (in the crop's pixels), wrist relative
    uv = project(xyz, K)
    nearest = np.argmin(
        (uv[None, :, 0] - px[:, None])**2 + (uv[None, :, 1] - py[:, None])**2,
        axis=1)
    z = xyz[nearest, 2] - xyz[0, 2]
    x, y = px + ox, py + oy
    if left:
        frame = np.ascontiguousarray(frame[:, ::-1])
        full = full[:, ::-1]
        x = width - 1 - x
    return frame, np.stack([x, y, z], axis=1), full


def _work(job: tuple) -> Tuple[int, np.ndarray]:
    """Write frames ``start:stop``; return (start, vertices)."""
    root, start, stop, seed, width, height, left_every, quality = job
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    verts = np.empty((stop - start, NUM_VERTICES, 3), np.float32)
    for k in range(start, stop):
        frame, v, _ = _hand_frame(k, seed, width, height,
                                  _is_left(k, left_every))
        path = osp.join(root, osp.splitext(_frame_name(k))[0] + '.jpg')
        os.makedirs(osp.dirname(path), exist_ok=True)
        write_jpeg(path, frame, params)
        verts[k - start] = v
    return start, verts


def _write_json(path: str, num: int, width: int, height: int, left_every: int,
                verts: np.ndarray) -> None:
    """The annotation json, written hand by hand (the full split's
    vertices as Python lists would take gigabytes)."""
    with open(path, 'w') as f:
        f.write('{"images": [')
        for k in range(num):
            f.write((', ' if k else '') + json.dumps(
                dict(id=k, name=_frame_name(k), width=width, height=height)))
        f.write('], "annotations": [')
        for k in range(num):
            rows = ', '.join(f'[{x:.2f}, {y:.2f}, {z:.4f}]'
                             for x, y, z in verts[k].tolist())
            f.write(
                f'{", " if k else ""}{{"id": {k}, "image_id": {k}, '
                f'"is_left": {"true" if _is_left(k, left_every) else "false"}'
                f', "vertices": [{rows}]}}')
        f.write(']}')


def generate_youtube3d(out_dir: str,
                       num_hands: int = YT3D_TRAIN_HANDS,
                       split: str = 'train',
                       seed: int = 0,
                       workers: int = 1,
                       frame_size: Tuple[int, int] = (480, 270),
                       left_every: int = 2,
                       quality: int = JPEG_QUALITY,
                       progress: Optional[Callable[[int, int],
                                                   None]] = None) -> Dict:
    """Write a synthetic data set in the YouTube3DHands layout.

    Args:
        out_dir (str): the data root to create; must not exist or be empty.
        num_hands (int): frames, one hand each. Defaults to the official
            training split's 47125.
        split (str): the json is ``youtube_<split>.json``.
        seed (int): non-negative seed; the output depends on it only.
        workers (int): processes. Defaults to 1.
        frame_size (tuple): (width, height) of the frames, each at least
            224. Defaults to (480, 270).
        left_every (int): every ``left_every``-th hand is a left hand.
            Defaults to 2 (half of them).
        quality (int): JPEG quality. Defaults to 90.
        progress (callable, optional): ``progress(done, total)`` in frames.

    Returns:
        dict: ``out_dir``, ``ann_file``, ``num_hands``, ``num_left``,
        ``seconds`` and ``json_mib``.

    Raises:
        FileExistsError: ``out_dir`` exists and is not an empty folder.
        ValueError: a count, the seed or the frame size is invalid.
    """
    width, height = (int(s) for s in frame_size)
    check_counts(('num_hands', num_hands, 1), ('seed', seed, 0),
                 ('workers', workers, 1), ('left_every', left_every, 1),
                 ('frame width', width, IMG_SIZE),
                 ('frame height', height, IMG_SIZE), ('quality', quality, 1))
    out_dir = osp.abspath(out_dir)
    if osp.lexists(out_dir) and (not osp.isdir(out_dir)
                                 or os.listdir(out_dir)):
        raise FileExistsError(f'{out_dir} exists and is not an empty folder; '
                              'choose another one')
    tmp = partial_folder(out_dir)
    t0 = time.perf_counter()
    os.mkdir(tmp)
    ann_name = f'youtube_{split}.json'
    try:
        with open(osp.join(tmp, MARKER), 'w') as f:
            json.dump(
                dict(
                    generator='peclr_synthetic.generate_youtube3d',
                    num_hands=int(num_hands),
                    seed=int(seed),
                    frame_size=[width, height],
                    left_every=int(left_every)), f)
        chunk = max(1, min(64, -(-num_hands // (4 * workers))))
        jobs = [(tmp, s, min(s + chunk, num_hands), int(seed), width, height,
                 int(left_every), int(quality))
                for s in range(0, num_hands, chunk)]
        verts = np.empty((num_hands, NUM_VERTICES, 3), np.float32)
        with mapped(_work, jobs, workers) as outputs:
            for start, v in outputs:
                verts[start:start + len(v)] = v
                if progress is not None:
                    progress(start + len(v), num_hands)
        _write_json(
            osp.join(tmp, ann_name), num_hands, width, height, left_every,
            verts)
        json_mib = osp.getsize(osp.join(tmp, ann_name)) / 2**20
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dict(
        out_dir=out_dir,
        ann_file=osp.join(out_dir, ann_name),
        num_hands=int(num_hands),
        num_left=num_hands // left_every,
        seconds=time.perf_counter() - t0,
        json_mib=json_mib)
