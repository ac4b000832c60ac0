# Copyright (c) peclr_mm authors. All rights reserved.
"""Time the two-view PeCLR pipeline on one CPU core.

Three comparisons, measured in the same run with interleaved rounds (the
median of the rounds is reported, so a busy machine slows both sides
alike):

1. full pipeline: ``FreiHand3DDataset(..., pipeline=train_pipeline)[i]``
   (JPEG decode; per view a canonical crop and a random similarity composed
   into ONE ``cv2.warpAffine``, HSV jitter; packing), in samples/s;
2. the same dataset and the same augmentation made by separate
   resamplings: per view rotate the full image about the crop centre,
   crop the scaled and shifted box, resize it to the view size;
3. the geometric part alone (no decode, no jitter): one warp per view
   against rotate + crop + resize.

Both sides draw identical random parameters (the global NumPy generator is
reseeded before each side of a round) and keep identical bookkeeping
(``warp_mat``, transformed keypoints, crop intrinsics); only the
resampling differs.

Example (from the repository root)::

    python tools/benchmarks/bench_pipeline.py
    python tools/benchmarks/bench_pipeline.py --data data/synthetic_freihand
"""
import os

# Before NumPy, OpenCV and torch load: one core means one thread everywhere.
os.environ['OMP_NUM_THREADS'] = '1'
os.environ.setdefault('MKL_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import argparse  # noqa: E402
import copy  # noqa: E402
import os.path as osp  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from typing import Callable, List, Sequence  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmcv.transforms import BaseTransform, LoadImageFromFile  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmpose.registry import TRANSFORMS  # noqa: E402

import peclr_mm  # noqa: E402,F401 (registers the transforms)
from peclr_mm.datasets import transforms as T  # noqa: E402
from peclr_mm.datasets.freihand3d import FreiHand3DDataset  # noqa: E402
from peclr_mm.utils import affine  # noqa: E402
from peclr_mm.utils.timing import time_interleaved, verdict  # noqa: E402
from peclr_synthetic import generate_freihand  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TARGET_SAMPLES_PER_S = 780.
TARGET_GEOMETRY_SPEEDUP = 2.


class RotateCropResize(BaseTransform):
    """The reference: the view's augmentation as three image operations.

    Rotate the whole image by ``theta`` about the crop centre, cut out the
    box of side ``crop_size / s`` centred on ``crop_center - shift *
    crop_size / s`` (zero padded where it leaves the image) and resize it to
    the view size. Up to interpolation and rounding of the box this is the
    view ``WarpView`` makes with ``warp_mat = A . C``; the bookkeeping
    (``warp_mat``, keypoints, ``K_crop``) is the same as ``WarpView``'s.
    """

    def transform(self, results: dict) -> dict:
        size = results['input_size'][0]
        center = np.asarray(results['crop_center'], np.float64)
        side = results['crop_size'] / results['s']
        img = results['img']
        h, w = img.shape[:2]
        rot = cv2.getRotationMatrix2D((float(center[0]), float(center[1])),
                                      results['theta'], 1.)
        img = cv2.warpAffine(
            img,
            rot, (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0))
        box_center = center - np.asarray(results['shift']) * side
        n = max(1, int(round(side)))
        x0 = int(round(box_center[0] - n / 2.))
        y0 = int(round(box_center[1] - n / 2.))
        img = _crop_padded(img, x0, y0, n)
        results['img'] = cv2.resize(
            img, (size, size), interpolation=cv2.INTER_LINEAR)
        results['img_shape'] = (size, size)
        warp = affine.compose(results['aug_mat'], results['crop_mat'])
        results['warp_mat'] = warp.astype(np.float32)
        if results.get('keypoints') is not None:
            results['transformed_keypoints'] = affine.transform_points(
                results['keypoints'], warp).astype(np.float32)
        if results.get('K') is not None:
            results['K_crop'] = affine.crop_intrinsics(results['K'],
                                                       warp).astype(np.float32)
        return results


def _crop_padded(img: np.ndarray, x0: int, y0: int, n: int) -> np.ndarray:
    """The n x n window at (x0, y0); zeros where it leaves the image."""
    h, w = img.shape[:2]
    x1, y1 = x0 + n, y0 + n
    if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
        return img[y0:y1, x0:x1]
    out = np.zeros((n, n) + img.shape[2:], img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx0 < sx1 and sy0 < sy1:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def _view_cfg(cfg: Config) -> dict:
    """The ``MultiViewWithGeometry`` step of ``cfg.train_pipeline``, checked
    to be the one-warp view pipeline this benchmark is about."""
    view_cfg = [
        t for t in cfg.train_pipeline if t['type'] == 'MultiViewWithGeometry'
    ][0]
    types = [t['type'] for t in view_cfg['transforms']]
    expected = ['HandCanonicalCrop', 'RandomSimilarity', 'WarpView']
    if types[:3] != expected:
        raise ValueError(f'view pipeline {types} does not start with '
                         f'{expected}')
    return view_cfg


def _reference_pipeline(cfg: Config) -> list:
    """``cfg.train_pipeline`` with ``WarpView`` swapped for
    :class:`RotateCropResize`, as transform objects."""
    view_cfg = _view_cfg(cfg)
    views = [
        RotateCropResize() if t['type'] == 'WarpView' else TRANSFORMS.build(t)
        for t in view_cfg['transforms']
    ]
    return [
        T.MultiViewWithGeometry(
            transforms=views, num_views=view_cfg['num_views'])
        if t['type'] == 'MultiViewWithGeometry' else TRANSFORMS.build(t)
        for t in cfg.train_pipeline
    ]


def _interleaved(fns: Sequence[Callable[[int], object]], count: int,
                 rounds: int) -> List[float]:
    """Median calls per second of each ``fn(0..count-1)`` over interleaved
    rounds, the NumPy generator seeded with the round so both sides of a
    round draw the same augmentations."""

    def sweep(fn):
        return lambda: [fn(i) for i in range(count)]

    times = time_interleaved([sweep(fn) for fn in fns],
                             rounds,
                             warmup=0,
                             before=np.random.seed)
    return [count / statistics.median(t) for t in times]


def _geometry_inputs(dataset: FreiHand3DDataset, count: int,
                     cfg: Config) -> List[dict]:
    """Decoded samples with each view's crop and similarity drawn."""
    view_cfg = _view_cfg(cfg)
    crop, sim = [TRANSFORMS.build(t) for t in view_cfg['transforms'][:2]]
    load = LoadImageFromFile()
    np.random.seed(0)
    out = []
    for i in range(count):
        results = load(dataset.get_data_info(i % len(dataset)))
        for _ in range(view_cfg['num_views']):
            out.append(sim(crop(copy.copy(results))))
    return out


def _agreement(views: List[dict], one: BaseTransform,
               ref: BaseTransform) -> float:
    """Mean absolute difference (grey levels) of the two sides' views for
    the same parameters: a check that the reference makes the same view."""
    diffs = [
        np.abs(
            one(copy.copy(v))['img'].astype(np.float32) -
            ref(copy.copy(v))['img'].astype(np.float32)).mean() for v in views
    ]
    return float(np.mean(diffs))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='One-core throughput of the PeCLR two-view pipeline.')
    parser.add_argument(
        '--data',
        help='FreiHAND-layout root to read; default: write a synthetic set '
        'of --num-samples images to a temporary folder')
    parser.add_argument(
        '--num-samples',
        type=int,
        default=512,
        help='samples timed per round (and written when --data is unset)')
    parser.add_argument(
        '--rounds', type=int, default=7, help='interleaved timing rounds')
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs', '_base_', 'peclr_pipeline.py'),
        help='config holding train_pipeline')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny run for the smoke test (32 samples, 2 rounds)')
    args = parser.parse_args(argv)
    if args.quick:
        args.num_samples, args.rounds = 32, 2
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    init_default_scope('mmpose')
    cfg = Config.fromfile(args.config)
    tmp = None
    data = args.data
    if data is None:
        tmp = tempfile.mkdtemp(prefix='bench_pipeline_')
        data = osp.join(tmp, 'synthetic_freihand')
        generate_freihand(
            data, num_train=args.num_samples, num_eval=1, versions=1, seed=0)
    try:
        ds_one = FreiHand3DDataset(data_root=data, pipeline=cfg.train_pipeline)
        ds_ref = FreiHand3DDataset(
            data_root=data, pipeline=_reference_pipeline(cfg))
        count = min(args.num_samples, len(ds_one))
        size = ds_one[0]['inputs'][0].shape[-1]
        # Warm the page cache and the lazy initialisations of both sides.
        _interleaved([ds_one.__getitem__, ds_ref.__getitem__], count, 1)
        full, ref = _interleaved([ds_one.__getitem__, ds_ref.__getitem__],
                                 count, args.rounds)

        views = _geometry_inputs(ds_one, count, cfg)
        warp_view, rcr = T.WarpView(), RotateCropResize()
        diff = _agreement(views[:64], warp_view, rcr)
        geo_one, geo_ref = _interleaved([
            lambda i: warp_view(copy.copy(views[i])),
            lambda i: rcr(copy.copy(views[i])),
        ], len(views), args.rounds)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    speedup = geo_one / geo_ref
    print(f'\n==== bench_pipeline summary ({count} samples x '
          f'{args.rounds} rounds, median; 1 thread; {size} px; '
          f'{len(views) // count} views) ====')
    print(f'full pipeline, one warp per view      {full:9.1f} samples/s')
    print(f'reference, rotate+crop+resize         {ref:9.1f} samples/s')
    print(f'ratio full/reference                  {full / ref:9.2f}')
    print(f'geometry only, one warp               {geo_one:9.1f} views/s')
    print(f'geometry only, rotate+crop+resize     {geo_ref:9.1f} views/s')
    print(f'ratio one-warp/three-resamplings      {speedup:9.2f}')
    print(f'views differ by (mean abs, 0-255)     {diff:9.2f}  (rounded '
          'box, two interpolations)')
    print(f'target full >= {TARGET_SAMPLES_PER_S:.0f} samples/s           '
          f'{verdict(full >= TARGET_SAMPLES_PER_S)}')
    print(f'target one warp >= {TARGET_GEOMETRY_SPEEDUP:.0f}x faster          '
          f'{verdict(speedup >= TARGET_GEOMETRY_SPEEDUP)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
