# Copyright (c) peclr_mm authors. All rights reserved.
"""Check every annotation record and every image of a FreiHAND-layout set.

    python tools/misc/check_dataset.py DATA_ROOT [--splits training evaluation]
        [--ann-root DIR] [--workers 2]

Per split, reads ``{split}_xyz.json`` (required for ``training``; for
``evaluation`` only when present, as the public archive lacks it),
``{split}_K.json`` and ``{split}_scale.json`` (each looked for in
``--ann-root`` first, then in DATA_ROOT) and checks, record by record:

- xyz: 21 x 3 finite numbers, every joint in front of the camera;
- K: 3 x 3 finite, last row ``[0, 0, 1]``, positive focal lengths,
  invertible, plausible for the images' size;
- scale: one finite positive number;
- units (``FreiHand3DDataset``'s check): joint depths within 0.05-5 m,
  bone lengths within 0.005-0.2 m and ``scale == |x9 - x10|`` (joints 9
  and 10) within 1 %; a fault names the file, the field and the likely
  unit (millimetres, x10, ...);
- the files hold as many records as each other.

Then it lists the images as ``FreiHand3DDataset`` does (a wrong count,
missing names or a name that is not a regular file, e.g. a FIFO, are
reported as training would report them) and decodes each: one line per
image that is missing, not a regular file, empty, corrupt, smaller than
32 px a side or not the size the set's images share (the size most of
its first three images have by their headers; FreiHAND's 224x224).

Prints one line per bad record or image (``FILE: field F, sample I:
problem`` or ``IMAGE: problem``; at most ``--max-lines`` per file and
field, then a count) and a summary per split on stderr; exits 1 if any
record or image is bad, 2 if a split cannot be read at all (a file
missing or not json, files of different lengths, images that do not fit
the annotations), 0 otherwise. Nothing is written.
"""
import argparse
import os.path as osp
import sys
from multiprocessing import Pool
from typing import List, Optional, Tuple

import numpy as np

import peclr_mm  # noqa: F401
from peclr_mm.utils.io import read_json

#: field -> the shape of one record
FIELDS = dict(xyz=(21, 3), K=(3, 3), scale=())


def _find(data_root: str, ann_root: Optional[str], name: str) -> str:
    for root in (ann_root, data_root):
        if root and osp.isfile(osp.join(root, name)):
            return osp.join(root, name)
    return osp.join(data_root, name)


def read_records(path: str, field: str) -> Tuple[np.ndarray, List[str]]:
    """The records of one annotation file as (N, *shape) float64 (bad
    records NaN) and one line per bad record."""
    shape = FIELDS[field]
    records = read_json(path, f'a json list of {field} records')
    if not isinstance(records, list):
        raise ValueError(f'{path}: expected a json list of {field} records, '
                         f'got {type(records).__name__}')
    out = np.full((len(records), ) + shape, np.nan)
    problems = []
    for i, rec in enumerate(records):
        try:
            arr = np.asarray(rec, np.float64)
        except (TypeError, ValueError):
            problems.append(f'{path}: field {field}, sample {i}: ragged or '
                            f'non-numeric, expected {shape or "a number"}')
            continue
        if arr.shape != shape:
            problems.append(f'{path}: field {field}, sample {i}: shape '
                            f'{arr.shape}, expected {shape}')
        elif not np.isfinite(arr).all():
            problems.append(f'{path}: field {field}, sample {i}: '
                            'non-finite value (NaN or inf)')
        else:
            out[i] = arr
    return out, problems


def check_annotations(
    data_root: str,
    split: str,
    ann_root: Optional[str] = None,
    image_size: Optional[Tuple[int, int]] = None
) -> Tuple[int, List[str], List[str]]:
    """Number of records, the bad-record lines, and the files read.

    Raises:
        FileNotFoundError: a required file is missing.
        ValueError: a file is not json or not a list, or the files differ
            in length.
    """
    from peclr_mm.utils.annotations import unit_problems
    from peclr_mm.utils.camera import intrinsics_problem
    arrays, paths, problems = {}, {}, []
    for field in FIELDS:
        path = _find(data_root, ann_root, f'{split}_{field}.json')
        if not osp.isfile(path):
            if field == 'xyz' and split == 'evaluation':
                continue  # the public evaluation split has no joints
            raise FileNotFoundError(f'{path} is missing')
        arrays[field], found = read_records(path, field)
        paths[field] = path
        problems += found
    lengths = {f: len(a) for f, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError('annotation files disagree in length: ' +
                         ', '.join(f'{paths[f]} has {n}'
                                   for f, n in lengths.items()))
    K, scale, xyz = arrays['K'], arrays['scale'], arrays.get('xyz')
    for i in np.flatnonzero(np.isfinite(K).all((1, 2))):
        problem = intrinsics_problem(K[i], image_size)
        if problem is not None:
            problems.append(f'{paths["K"]}: field K, sample {i}: {problem}')
    for i in np.flatnonzero(scale <= 0):
        problems.append(f'{paths["scale"]}: field scale, sample {i}: '
                        f'{scale[i]:g}, a length must be positive')
    good = np.isfinite(scale) & (scale > 0)
    if xyz is not None:
        for i in np.flatnonzero((xyz[..., 2] <= 0).any(1)):
            problems.append(f'{paths["xyz"]}: field xyz, sample {i}: a '
                            'joint at or behind the camera (z <= 0)')
        good &= np.isfinite(xyz).all((1, 2)) & (xyz[..., 2] > 0).all(1)
    if good.any():
        problems += unit_problems(None if xyz is None else xyz[good],
                                  scale[good], paths.get('xyz', 'xyz'),
                                  paths['scale'])
    return len(K), problems, [paths[f] for f in paths]


def check_images(data_root: str,
                 split: str,
                 num_annotations: int,
                 expected: Optional[Tuple[int, int]],
                 workers: int = 1) -> Tuple[int, List[Tuple[str, str]]]:
    """Number of images checked and the bad ones as ``(path, what)``."""
    from functools import partial

    from peclr_mm.datasets.freihand3d import check_image_file, count_versions
    img_dir = osp.join(data_root, split, 'rgb')
    versions = count_versions(img_dir, num_annotations, split)
    paths = [
        osp.join(img_dir, f'{i:08d}.jpg')
        for i in range(versions * num_annotations)
    ]
    shape = None if expected is None else (expected[1], expected[0])
    check = partial(check_image_file, expected_shape=shape)
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(check, paths, chunksize=256)
    else:
        results = [check(p) for p in paths]
    return len(paths), [(p, what) for p, what in zip(paths, results) if what]


def _print_capped(lines: List[str], cap: int) -> None:
    """Print ``lines``, at most ``cap`` per file and field."""
    seen: dict = {}
    for line in lines:
        key = line.split(', sample ')[0]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= cap:
            print(line)
    for key, n in seen.items():
        if n > cap:
            print(f'{key}: ... and {n - cap} more bad records')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root')
    parser.add_argument(
        '--splits', nargs='+', default=['training', 'evaluation'])
    parser.add_argument(
        '--ann-root',
        help='a folder searched first for the annotation files (e.g. the '
        'unpacked FreiHAND_pub_v2_eval.zip)')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--max-lines', type=int, default=20)
    args = parser.parse_args(argv)
    from peclr_mm.datasets.freihand3d import expected_image_size
    status = 0
    for split in args.splits:
        img_dir = osp.join(args.data_root, split, 'rgb')
        size = expected_image_size(img_dir) if osp.isdir(img_dir) else None
        try:
            num_ann, bad_ann, files = check_annotations(
                args.data_root, split, args.ann_root, size)
            num, bad = check_images(args.data_root, split, num_ann, size,
                                    args.workers)
        except (OSError, ValueError, KeyError) as exc:
            print(f'{split}: cannot be read: {exc}', file=sys.stderr)
            status = 2
            continue
        _print_capped(bad_ann, args.max_lines)
        for path, what in bad:
            print(f'{path}: {what}')
        print(
            f'{split}: {num_ann} annotations '
            f'({", ".join(osp.basename(f) for f in files)}), '
            f'{len(bad_ann)} bad',
            file=sys.stderr)
        size_text = 'x'.join(map(str, size)) if size else 'unknown'
        print(
            f'{split}: {num} images, {len(bad)} bad ({size_text} px '
            'expected)',
            file=sys.stderr)
        if (bad or bad_ann) and status == 0:
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
