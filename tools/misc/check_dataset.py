# Copyright (c) peclr_mm authors. All rights reserved.
"""Decode every image of a FreiHAND-layout data set and list the bad ones.

    python tools/misc/check_dataset.py DATA_ROOT [--splits training evaluation]
        [--workers 2]

Reads the annotations and the image folder as ``FreiHand3DDataset`` does
(so a wrong count or wrong names are reported as training would report
them), then decodes each image the dataset lists. Prints one line per
missing, empty, corrupt or unreadable image and a summary per split; exits
1 if any image is bad, 2 if a split cannot be read at all, 0 otherwise.
Nothing is written.
"""
import argparse
import os.path as osp
import sys
from multiprocessing import Pool
from typing import List, Tuple

try:
    import peclr_mm  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import peclr_mm  # noqa: F401


def check_split(data_root: str,
                split: str,
                workers: int = 1) -> Tuple[int, List[Tuple[str, str]]]:
    """Number of images checked and the bad ones as ``(path, what)``."""
    from peclr_mm.datasets import FreiHand3DDataset
    from peclr_mm.datasets.freihand3d import check_image_file
    ds = FreiHand3DDataset(
        data_root=data_root, split=split, with_labels=False, pipeline=[])
    paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(check_image_file, paths, chunksize=256)
    else:
        results = [check_image_file(p) for p in paths]
    return len(paths), [(p, what) for p, what in zip(paths, results) if what]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root')
    parser.add_argument(
        '--splits', nargs='+', default=['training', 'evaluation'])
    parser.add_argument('--workers', type=int, default=1)
    args = parser.parse_args(argv)
    status = 0
    for split in args.splits:
        try:
            num, bad = check_split(args.data_root, split, args.workers)
        except (OSError, ValueError, KeyError) as exc:
            print(f'{split}: cannot be read: {exc}', file=sys.stderr)
            status = 2
            continue
        for path, what in bad:
            print(f'{path}: {what}')
        print(f'{split}: {num} images, {len(bad)} bad', file=sys.stderr)
        if bad and status == 0:
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
