# Copyright (c) peclr_mm authors. All rights reserved.
"""Write the real-world hand test set of Ge et al. in the FreiHAND layout.

    python tools/dataset_converters/real_world_testset.py SRC OUT \
        --frames 0 291 [--hand right|left] \
        [--split both|training|evaluation] [--overwrite]

SRC is the set's folder (``3d-hand-shape/hand-graph-cnn``,
``data/real_world_testset``; Ge et al., *3D Hand Shape and Pose Estimation
from a Single RGB Image*, CVPR 2019; non-commercial research licence):
``images/%05d.jpg`` (square crops of left hands out of 1280x720 frames),
``pose_gt.mat`` (key ``pose_gt``: N x 21 x 3 joints in **cm** in the
camera frame, FreiHAND's joint order; joints in mm or m are refused,
naming the likely unit, by the hands' median depth and bone 9-10 length)
and ``params.mat`` (keys
``cam_param``: fx, fy, cx, cy of the frame; ``bbox``: x, y, w, h of each
crop in the frame).

OUT receives, for the frames ``A..B`` (inclusive), renumbered from 0::

    OUT/{training,evaluation}/rgb/%08d.jpg
    OUT/{training,evaluation}_{xyz,K,scale}.json
    OUT/real_world_testset.json      what was converted, and how

with the joints in metres, each crop's intrinsics ``f' = f * S / w``,
``c' = (c - (x, y)) * S / w`` (S the crop's side in pixels, 256) and the
scale ``|x9 - x10|``. Both splits hold the same frames (``--split both``,
the default), so the mean-pose reference of ``FreiHand3DMetric``
(``mean_pose=dict(data_root=OUT)``, the training split's mean) is the
set's own mean pose.

``--hand right`` (the default) mirrors every left hand into a right hand,
as models trained on FreiHAND expect: the image is flipped
(``cv2.flip(img, 1)``, column u -> S - 1 - u, re-encoded as JPEG at
quality 95), the joints mirrored (x -> -x) and the camera with them
(``K -> F @ K @ diag(-1, 1, 1)``). ``--hand left`` keeps the photos
byte for byte and records the hand in ``real_world_testset.json``.

The set is built in a hidden sibling folder and moved into place whole.
OUT must be missing or empty; ``--overwrite`` replaces only a folder that
this converter wrote and nothing was added to. Exit codes: 0 written, 2
bad input or a refused OUT (one line naming the file and field).
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
from typing import Dict, Sequence, Tuple

import numpy as np

import peclr_mm  # noqa: F401
from peclr_mm.apis.inference import mirror_intrinsics
from peclr_mm.utils.io import folder_built_beside

#: Plausible ranges, in cm, of the median over frames of the hand's depth
#: (the median joint's z) and of the reference bone 9-10 (the set's mean is
#: 4.9 cm): joints in mm or m fall outside both by 10x or 100x.
DEPTH_RANGE_CM = (10., 300.)
BONE_RANGE_CM = (1.5, 20.)
#: A unit the joints may wrongly be in, and the factor to cm.
_OTHER_UNITS = (('mm', 0.1), ('m', 100.))
#: What the converter writes beside the splits: its record, and the mark
#: that ``--overwrite`` looks for.
META = 'real_world_testset.json'
SPLITS = ('training', 'evaluation')
JPEG_QUALITY = 95
HANDS = ('right', 'left')


def _loadmat(path: str) -> dict:
    from scipy.io import loadmat
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing')
    try:
        return loadmat(path)
    except Exception as exc:  # scipy raises several types for bad files
        raise ValueError(f'{path}: not a readable MATLAB file ({exc})') \
            from exc


def _field(mat: dict, path: str, key: str, shapes: Sequence[tuple],
           what: str) -> np.ndarray:
    """``mat[key]`` as finite float64 of one of ``shapes`` (``None``
    matches any length), or an error naming the file and field."""
    if key not in mat:
        raise ValueError(f'{path}: field {key} is missing (expected {what})')
    arr = np.asarray(mat[key])
    ok = any(arr.ndim == len(s) and all(e is None or e == n
                                        for e, n in zip(s, arr.shape))
             for s in shapes)
    if not ok or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f'{path}: field {key} has shape {arr.shape} '
                         f'({arr.dtype}); expected {what}')
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f'{path}: field {key} holds non-finite values')
    return arr


def check_cm(xyz_cm: np.ndarray, path: str) -> None:
    """Refuse joints that are not in cm: the median depth of the hands and
    the median length of bone 9-10 must lie in :data:`DEPTH_RANGE_CM` and
    :data:`BONE_RANGE_CM`.

    Args:
        xyz_cm: (N, 21, 3) joints as read, supposedly cm.
        path: the file, for the message.

    Raises:
        ValueError: one line naming the file, the field, the two medians
            and the likely unit (mm or m) when scaling by it fits both.
    """
    depth = float(np.median(np.median(xyz_cm[..., 2], axis=1)))
    bone = float(
        np.median(np.linalg.norm(xyz_cm[:, 9] - xyz_cm[:, 10], axis=1)))

    def plausible(factor: float) -> bool:
        return (DEPTH_RANGE_CM[0] <= depth * factor <= DEPTH_RANGE_CM[1]
                and BONE_RANGE_CM[0] <= bone * factor <= BONE_RANGE_CM[1])

    if plausible(1.):
        return
    likely = [unit for unit, factor in _OTHER_UNITS if plausible(factor)]
    guess = (f'the values look like {likely[0]}, convert them to cm'
             if likely else 'expected cm in the camera frame')
    raise ValueError(
        f'{path}: field pose_gt is not in cm: median hand depth {depth:.4g} '
        f'and bone 9-10 length {bone:.4g} (expected {DEPTH_RANGE_CM[0]:g}-'
        f'{DEPTH_RANGE_CM[1]:g} and {BONE_RANGE_CM[0]:g}-'
        f'{BONE_RANGE_CM[1]:g} cm); {guess}')


def load_source(src: str) -> Dict[str, np.ndarray]:
    """The set's labels, checked.

    Args:
        src: the set's folder (``images/``, ``pose_gt.mat``,
            ``params.mat``).

    Returns:
        dict: ``xyz`` (N, 21, 3) metres, camera frame; ``cam`` (N, 4) fx,
        fy, cx, cy of the full frame; ``bbox`` (N, 4) x, y, w, h of each
        crop in the frame.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a field is missing, of the wrong shape, not finite, or
            implausible (a joint at or behind the camera, joints not in cm
            (:func:`check_cm`), a box or focal length that is not
            positive); the message names the file and field.
    """
    pose_path = osp.join(src, 'pose_gt.mat')
    params_path = osp.join(src, 'params.mat')
    xyz_cm = _field(
        _loadmat(pose_path), pose_path, 'pose_gt', [(None, 21, 3)],
        'N x 21 x 3 joints in cm')
    params = _loadmat(params_path)
    num = len(xyz_cm)
    cam = _field(params, params_path, 'cam_param', [(4, ), (1, 4), (num, 4)],
                 f'fx, fy, cx, cy: 4 or {num} x 4 numbers')
    cam = np.broadcast_to(cam.reshape(-1, 4), (num, 4)).copy()
    bbox = _field(params, params_path, 'bbox', [(num, 4)],
                  f'x, y, w, h of each of the {num} crops: {num} x 4')
    if num == 0:
        raise ValueError(f'{pose_path}: field pose_gt holds no frames')
    if np.any(xyz_cm[..., 2] <= 0):
        bad = int(np.argwhere(xyz_cm[..., 2] <= 0)[0, 0])
        raise ValueError(f'{pose_path}: field pose_gt: frame {bad} has a '
                         'joint at or behind the camera (z <= 0); expected '
                         'cm in the camera frame')
    check_cm(xyz_cm, pose_path)
    xyz = xyz_cm / 100.
    if np.any(cam[:, :2] <= 0):
        raise ValueError(f'{params_path}: field cam_param: focal lengths '
                         'must be positive')
    if np.any(bbox[:, 2:] <= 0):
        bad = int(np.argwhere(bbox[:, 2:] <= 0)[0, 0])
        raise ValueError(f'{params_path}: field bbox: frame {bad} has a '
                         'box of width or height <= 0')
    return dict(xyz=xyz, cam=cam, bbox=bbox)


def crop_intrinsics(cam: np.ndarray, bbox: np.ndarray,
                    size: Tuple[int, int]) -> np.ndarray:
    """The camera of a crop: the box ``bbox`` (x, y, w, h) of the frame
    seen by ``cam`` (fx, fy, cx, cy), resized to ``size`` (W, H) pixels:
    ``f' = f * W / w``, ``c' = (c - (x, y)) * W / w`` (H / h for y).

    Returns:
        np.ndarray: (3, 3) float64 intrinsics of the crop.
    """
    fx, fy, cx, cy = np.asarray(cam, np.float64)
    x, y, w, h = np.asarray(bbox, np.float64)
    sx, sy = size[0] / w, size[1] / h
    return np.array([[fx * sx, 0., (cx - x) * sx],
                     [0., fy * sy, (cy - y) * sy], [0., 0., 1.]])


def _check_frames(frames: Sequence[int], num: int, src: str) -> range:
    start, stop = (int(f) for f in frames)
    if not 0 <= start <= stop <= num - 1:
        raise ValueError(
            f'--frames {start} {stop}: {src} holds frames 0..{num - 1}; '
            'expected 0 <= A <= B <= N - 1')
    return range(start, stop + 1)


def _written_by_us(out: str) -> bool:
    """Whether ``out`` holds only what this converter writes."""
    meta = osp.join(out, META)
    try:
        with open(meta) as f:
            if json.load(f).get('converter') != 'real_world_testset':
                return False
    except (OSError, ValueError, AttributeError):
        return False
    allowed = {META} | set(SPLITS) | {
        f'{s}_{k}.json'
        for s in SPLITS
        for k in ('xyz', 'K', 'scale')
    }
    for entry in os.listdir(out):
        if entry not in allowed:
            return False
        path = osp.join(out, entry)
        if entry in SPLITS:
            if osp.islink(path) or os.listdir(path) != ['rgb']:
                return False
            rgb = osp.join(path, 'rgb')
            if osp.islink(rgb) or not all(
                    len(n) == 12 and n[:8].isdigit() and n.endswith('.jpg')
                    for n in os.listdir(rgb)):
                return False
    return True


def _check_out(out: str, overwrite: bool) -> bool:
    """Whether ``out`` exists and is to be replaced; refuse what is not
    ours to replace."""
    if not osp.lexists(out):
        return False
    if not osp.isdir(out) or osp.islink(out):
        raise FileExistsError(f'{out} exists and is not a folder')
    if not os.listdir(out):
        return True
    if not overwrite:
        raise FileExistsError(f'{out} exists and is not empty; pass '
                              '--overwrite to replace a set this converter '
                              'wrote')
    if not _written_by_us(out):
        raise FileExistsError(
            f'refusing to overwrite {out}: it was not written by this '
            f'converter, or holds files it did not write (see {META})')
    return True


def _write_split(tmp: str, split: str, images: list, xyz: np.ndarray,
                 K: np.ndarray) -> None:
    rgb = osp.join(tmp, split, 'rgb')
    os.makedirs(rgb)
    for i, write in enumerate(images):
        write(osp.join(rgb, f'{i:08d}.jpg'))
    xyz_list = xyz.tolist()
    # the scale is computed from the values as stored, so readers
    # recompute it exactly
    stored = np.array(xyz_list, np.float64)
    scale = np.linalg.norm(stored[:, 9] - stored[:, 10], axis=1)
    for key, value in (('xyz', xyz_list), ('K', K.tolist()), ('scale',
                                                              scale.tolist())):
        with open(osp.join(tmp, f'{split}_{key}.json'), 'w') as f:
            json.dump(value, f)


def convert(src: str,
            out: str,
            frames: Sequence[int],
            hand: str = 'right',
            splits: Sequence[str] = SPLITS,
            overwrite: bool = False) -> dict:
    """Convert frames ``frames[0]..frames[1]`` of the set at ``src`` into
    the FreiHAND layout at ``out`` (see the module's docstring).

    Args:
        src: the set's folder.
        out: the data root to write.
        frames: the first and last frame, inclusive.
        hand: ``'right'`` mirrors the (left) hands into right ones;
            ``'left'`` keeps them.
        splits: which of ``'training'`` and ``'evaluation'`` to write
            (each holds all the frames).
        overwrite: replace ``out`` when this converter wrote it.

    Returns:
        dict: what :data:`META` records: ``converter``, ``source``,
        ``frames``, ``num``, ``hand``, ``mirrored``, ``splits``,
        ``image_size``, ``images``.

    Raises:
        FileNotFoundError: a source file is missing.
        FileExistsError: ``out`` may not be written.
        ValueError: bad labels, a bad image, or frames outside the set.
    """
    import cv2
    if hand not in HANDS:
        raise ValueError(f'hand must be one of {HANDS}, got {hand!r}')
    splits = list(splits)
    if not splits or any(s not in SPLITS for s in splits):
        raise ValueError(f'splits must be among {SPLITS}, got {splits}')
    src, out = osp.abspath(src), osp.abspath(out)
    labels = load_source(src)
    keep = _check_frames(frames, len(labels['xyz']), src)
    _check_out(out, overwrite)
    mirror = hand == 'right'
    xyzs, Ks, images, size = [], [], [], None
    for n in keep:
        path = osp.join(src, 'images', f'{n:05d}.jpg')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} is missing (frame {n})')
        img = cv2.imread(path)
        if img is None:
            raise ValueError(f'{path}: does not decode as an image')
        hw = img.shape[:2]
        if size is None:
            size = hw
        if hw != size:
            raise ValueError(f'{path}: {hw[1]}x{hw[0]} px; the crops before '
                             f'it are {size[1]}x{size[0]}')
        xyz = labels['xyz'][n].copy()
        K = crop_intrinsics(labels['cam'][n], labels['bbox'][n],
                            (hw[1], hw[0]))
        if mirror:
            xyz[:, 0] *= -1.
            K = mirror_intrinsics(K, hw[1])
            buf = cv2.imencode('.jpg', cv2.flip(img, 1),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1]
            images.append(lambda p, b=buf: b.tofile(p))
        else:
            images.append(lambda p, s=path: shutil.copyfile(s, p))
        xyzs.append(xyz)
        Ks.append(K)
    xyz, K = np.stack(xyzs), np.stack(Ks)
    meta = dict(
        converter='real_world_testset',
        source=src,
        frames=[keep.start, keep.stop - 1],
        num=len(keep),
        hand=hand,
        mirrored=mirror,
        splits=splits,
        image_size=[size[1], size[0]],
        images=(f'flipped left-right, JPEG quality {JPEG_QUALITY}'
                if mirror else 'the source files, unchanged'),
        licence='Ge et al. (CVPR 2019) real-world test set: '
        'non-commercial research use only; do not redistribute')
    with folder_built_beside(out) as tmp:
        for split in splits:
            _write_split(tmp, split, images, xyz, K)
        with open(osp.join(tmp, META), 'w') as f:
            json.dump(meta, f, indent=1)
            f.write('\n')
        _check_out(out, overwrite)  # again: nothing made meanwhile is lost
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='the real_world_testset folder')
    parser.add_argument('out', help='the FreiHAND-layout data root to write')
    parser.add_argument(
        '--frames',
        nargs=2,
        type=int,
        required=True,
        metavar=('A', 'B'),
        help='first and last frame to convert, inclusive (e.g. 0 291)')
    parser.add_argument(
        '--hand',
        choices=HANDS,
        default='right',
        help='right: mirror the left hands into right ones (default); '
        'left: keep them')
    parser.add_argument(
        '--split',
        choices=('both', ) + SPLITS,
        default='both',
        help='the split(s) to write, each with all the frames (default '
        'both: the training split gives the mean-pose reference)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace OUT if this converter wrote it')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        meta = convert(
            args.src,
            args.out,
            args.frames,
            hand=args.hand,
            splits=SPLITS if args.split == 'both' else [args.split],
            overwrite=args.overwrite)
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote frames {meta["frames"][0]}..{meta["frames"][1]} '
          f'({meta["num"]} {meta["hand"]} hands, '
          f'{meta["image_size"][0]} px) to {args.out} '
          f'({", ".join(meta["splits"])})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
