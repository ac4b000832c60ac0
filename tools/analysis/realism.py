# Copyright (c) peclr_mm authors. All rights reserved.
"""How real a FreiHAND-layout set's hands look to a real-world hand model.

    python tools/analysis/realism.py DATA_ROOT [--split evaluation] \
        [--num 300] [--min-detection-confidence 0.5] \
        [--out realism.json [--overwrite]]

Runs MediaPipe Hands (``static_image_mode=True``; a palm detector and a
landmark model trained on real photographs) on ``--num`` evenly spaced
images of a split (version 0 of each annotation) and prints:

- the detection rate: the share of images where it finds a hand;
- the 2-D error over the box side: per image, the mean over the 21 joints
  of the pixel distance between MediaPipe's landmarks (of its most
  confident hand) and the ground truth projected with ``K``, divided by
  the side of the ground truth's box (the box around the 21 projected
  joints, ``max(w, h)``); median and mean over the images where a hand
  was found, and the same error in pixels;
- the handedness MediaPipe saw (the hand really seen; see
  ``peclr_mm.apis.detectors``);
- the milliseconds MediaPipe took per image (decoding excluded).

On the real-world test set of Ge et al. (frames 0-291, converted by
``tools/dataset_converters/real_world_testset.py``) MediaPipe finds about
99 % of the hands with an error of about 0.04 of the box side; renders it
does not recognise as hands score far lower. ``--out`` writes the summary
and each image's record as JSON, marked ``"written_by":
"tools/analysis/realism.py"``; it never writes over a file that is not
such an output (a data root's ``evaluation_xyz.json``, say), and over its
own earlier output only with ``--overwrite``. Exit codes: 0 measured, 2
the split cannot be read, MediaPipe is missing or ``--out`` is refused
(one line).
"""
import argparse
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np

import peclr_mm  # noqa: F401
from peclr_mm.datasets.freihand3d import load_freihand_annotations
from peclr_mm.utils.camera import project

#: The first entry of the JSON ``--out`` writes: what marks the files this
#: tool may write over (with ``--overwrite``).
WRITTEN_BY = 'tools/analysis/realism.py'
#: The summary's keys, in the order printed.
SUMMARY_KEYS = ('num_images', 'num_detected', 'detection_rate',
                'error_box_median', 'error_box_mean', 'epe_2d_px_median',
                'epe_2d_px_mean', 'ms_per_image', 'handedness')


def box_side(uv: np.ndarray) -> np.ndarray:
    """The longer side of the box around each hand's joints.

    Args:
        uv: (..., 21, 2) pixels.

    Returns:
        np.ndarray: (...) ``max(w, h)`` in pixels.
    """
    uv = np.asarray(uv, np.float64)
    return (uv.max(-2) - uv.min(-2)).max(-1)


def error_over_box(pred_uv: np.ndarray, gt_uv: np.ndarray) -> np.ndarray:
    """The mean over joints of the distance between two hands' 2-D joints,
    divided by the longer side of the ground truth's box.

    Args:
        pred_uv: (..., 21, 2) detected joints, pixels.
        gt_uv: (..., 21, 2) ground truth, pixels.

    Returns:
        np.ndarray: (...) the relative error (0.05: 5 % of the box side).
    """
    pred_uv = np.asarray(pred_uv, np.float64)
    gt_uv = np.asarray(gt_uv, np.float64)
    if pred_uv.shape != gt_uv.shape or pred_uv.shape[-2:] != (21, 2):
        raise ValueError('pred_uv and gt_uv must both be (..., 21, 2), got '
                         f'{pred_uv.shape} and {gt_uv.shape}')
    err = np.linalg.norm(pred_uv - gt_uv, axis=-1).mean(-1)
    return err / np.maximum(box_side(gt_uv), 1e-9)


def spread_indices(total: int, num: Optional[int]) -> np.ndarray:
    """``num`` evenly spaced indices of ``range(total)`` (all of them when
    ``num`` is None or at least ``total``), first and last included."""
    if num is not None and num < 1:
        raise ValueError(f'num must be >= 1, got {num}')
    if num is None or num >= total:
        return np.arange(total)
    return np.unique(np.linspace(0, total - 1, num).round().astype(int))


def load_split(data_root: str, split: str = 'evaluation') -> dict:
    """The labels and image paths of a FreiHAND-layout split.

    Returns:
        dict: ``paths`` (N,) version 0 of each annotation, ``xyz`` (N,
        21, 3) metres, ``K`` (N, 3, 3), ``uv`` (N, 21, 2) pixels.

    Raises:
        FileNotFoundError: a file or the image folder is missing.
        ValueError: bad annotations (named by the reader).
    """
    img_dir = osp.join(data_root, split, 'rgb')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'{img_dir} is missing (expected %08d.jpg '
                                'images)')
    import cv2
    first = cv2.imread(osp.join(img_dir, '00000000.jpg'))
    ann = load_freihand_annotations(
        data_root,
        split,
        image_size=None if first is None else first.shape[1::-1])
    paths = [osp.join(img_dir, f'{k:08d}.jpg') for k in range(len(ann['K']))]
    return dict(
        paths=paths,
        xyz=ann['xyz'],
        K=ann['K'],
        uv=project(ann['xyz'], ann['K']))


def detect_all(detector: Callable, paths: List[str],
               gt_uv: np.ndarray) -> List[dict]:
    """Run ``detector`` on each image and score its most confident hand.

    Args:
        detector: ``detector(img_bgr) -> list of dict`` with at least
            ``keypoints`` (21, 2) pixels, the most confident first (as
            :class:`~peclr_mm.apis.MediaPipeHands`).
        paths: the images.
        gt_uv: (len(paths), 21, 2) their ground truth, pixels.

    Returns:
        list[dict]: per image ``path``, ``detected``, ``num_hands``,
        ``ms`` and, when detected, ``error_box``, ``epe_2d_px``,
        ``score``, ``handedness`` and the hand's ``keypoints`` (and
        ``keypoints_world`` when given) as arrays.

    Raises:
        ValueError: an image does not decode (named).
    """
    import cv2
    records = []
    for path, uv in zip(paths, gt_uv):
        img = cv2.imread(path)
        if img is None:
            raise ValueError(f'{path}: missing or does not decode')
        start = time.perf_counter()
        hands = detector(img)
        rec = dict(
            path=path,
            ms=(time.perf_counter() - start) * 1e3,
            num_hands=len(hands),
            detected=bool(hands))
        if hands:
            best = hands[0]
            kpts = np.asarray(best['keypoints'], np.float64)
            rec.update(
                error_box=float(error_over_box(kpts, uv)),
                epe_2d_px=float(np.linalg.norm(kpts - uv, axis=-1).mean()),
                score=float(best.get('score', np.nan)),
                handedness=best.get('handedness'),
                keypoints=kpts)
            if best.get('keypoints_world') is not None:
                rec['keypoints_world'] = np.asarray(best['keypoints_world'],
                                                    np.float64)
        records.append(rec)
    return records


def summarise(records: List[dict]) -> Dict[str, object]:
    """The numbers :data:`SUMMARY_KEYS` of :func:`detect_all`'s records
    (errors over the images with a hand; NaN when there is none)."""
    found = [r for r in records if r['detected']]
    err = np.array([r['error_box'] for r in found])
    px = np.array([r['epe_2d_px'] for r in found])

    def stat(fn, arr):
        return float(fn(arr)) if len(arr) else float('nan')

    hands: Dict[str, int] = {}
    for r in found:
        hands[str(r['handedness'])] = hands.get(str(r['handedness']), 0) + 1
    return dict(
        num_images=len(records),
        num_detected=len(found),
        detection_rate=len(found) / max(len(records), 1),
        error_box_median=stat(np.median, err),
        error_box_mean=stat(np.mean, err),
        epe_2d_px_median=stat(np.median, px),
        epe_2d_px_mean=stat(np.mean, px),
        ms_per_image=stat(np.mean, np.array([r['ms'] for r in records])),
        handedness=dict(sorted(hands.items())))


def measure(data_root: str,
            split: str = 'evaluation',
            num: Optional[int] = 300,
            detector: Optional[Callable] = None,
            min_detection_confidence: float = 0.5) -> dict:
    """Measure a split's realism (see the module's docstring).

    Args:
        data_root: a FreiHAND-layout root.
        split: ``'evaluation'`` or ``'training'``.
        num: images to use, evenly spaced; ``None`` for all.
        detector: a callable as :func:`detect_all` takes; ``None`` makes
            MediaPipe Hands (static images, up to 2 hands).
        min_detection_confidence: MediaPipe's threshold (without
            ``detector``).

    Returns:
        dict: ``summary`` (:func:`summarise`, with ``data_root``,
        ``split``, ``num_annotations``) and ``records``
        (:func:`detect_all`, in the order of ``indices``) and ``indices``.
    """
    data = load_split(data_root, split)
    idx = spread_indices(len(data['paths']), num)
    close = None
    if detector is None:
        from peclr_mm.apis import MediaPipeHands
        detector = close = MediaPipeHands(
            static_image_mode=True,
            max_num_hands=2,
            min_detection_confidence=min_detection_confidence)
    try:
        records = detect_all(detector, [data['paths'][i] for i in idx],
                             data['uv'][idx])
    finally:
        if close is not None:
            close.close()
    summary = dict(
        data_root=osp.abspath(data_root),
        split=split,
        num_annotations=len(data['paths']),
        **summarise(records))
    return dict(summary=summary, records=records, indices=idx, data=data)


def format_summary(summary: dict) -> str:
    """The summary as the lines the command prints."""
    s = summary
    lines = [
        f'realism of {s["data_root"]} {s["split"]} ({s["num_images"]} of '
        f'{s["num_annotations"]} images, MediaPipe Hands):',
        f'  detected {s["num_detected"]} / {s["num_images"]} '
        f'({100 * s["detection_rate"]:.1f} %)',
        f'  2-D error / box side: median {s["error_box_median"]:.3f}, mean '
        f'{s["error_box_mean"]:.3f} (EPE-2D median '
        f'{s["epe_2d_px_median"]:.1f} px, mean {s["epe_2d_px_mean"]:.1f} '
        'px)', '  handedness seen: ' +
        (', '.join(f'{k} {v}' for k, v in s['handedness'].items()) or 'none'),
        f'  {s["ms_per_image"]:.1f} ms per image'
    ]
    return '\n'.join(lines)


def jsonable(obj):
    """``obj`` with arrays as lists and NaN as None (strict JSON)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='a FreiHAND-layout data root')
    parser.add_argument(
        '--split', choices=('evaluation', 'training'), default='evaluation')
    parser.add_argument(
        '--num',
        type=int,
        default=300,
        help='images to measure, evenly spaced (default 300; 0 for all)')
    parser.add_argument('--min-detection-confidence', type=float, default=0.5)
    parser.add_argument('--out', help='write the summary and records here')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an earlier --out of this tool (never another file)')
    return parser.parse_args(argv)


def split_files(data_root: str, split: str) -> List[str]:
    """The annotation files a split is read from (a tool's inputs, which
    its ``--out`` must never replace)."""
    return [
        osp.join(data_root, f'{split}_{key}.json')
        for key in ('xyz', 'K', 'scale')
    ]


def main(argv=None, detector: Optional[Callable] = None) -> int:
    args = parse_args(argv)
    from peclr_mm.utils.io import atomic_write_json, check_output_path
    try:
        if args.out:  # before the measurement, and again before writing
            check_output_path(args.out, split_files(args.data_root,
                                                    args.split),
                              args.overwrite, WRITTEN_BY)
        result = measure(
            args.data_root,
            args.split,
            args.num or None,
            detector=detector,
            min_detection_confidence=args.min_detection_confidence)
        print(format_summary(result['summary']))
        if args.out:
            check_output_path(args.out, split_files(args.data_root,
                                                    args.split),
                              args.overwrite, WRITTEN_BY)
            atomic_write_json(
                args.out,
                jsonable(
                    dict(
                        written_by=WRITTEN_BY,
                        summary=result['summary'],
                        records=[
                            dict(r, index=i) for i, r in zip(
                                result['indices'], result['records'])
                        ])),
                indent=1)
            print(f'written to {args.out}')
    except (OSError, ValueError, ImportError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
