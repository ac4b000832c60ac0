# Copyright (c) peclr_mm authors. All rights reserved.
"""Mine similar hands (SiMHand's positives): for every annotation of a
split, the ``--k`` annotations whose 2-D poses are the most alike.

    python tools/mine_similar_hands.py --data data/freihand --split training
    python tools/mine_similar_hands.py --data data/youtube3d \\
        --keypoints work_dirs/pseudo_labels_2d.json \\
        --out data/youtube3d/sim.npz

The poses are the split's ground truth projected through its cameras
(FreiHAND layout), or ``--keypoints``: a json array (N, 21, 2) of 2-D
joints in image pixels, one per image of the data set in its order (the
pseudo-labels of any 2-D model, for image folders and YouTube3DHands). The
descriptor and the distance: ``peclr_mm.datasets.similar_hands``.

Writes ``--out`` (default ``DATA/similar_hands_{split}_k{k}.npz``)
atomically. A run that is stopped keeps what it found in ``OUT.partial.npz``
and a later run with the same arguments continues from there; an existing
``--out`` is never overwritten.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True, help='the data set folder')
    parser.add_argument(
        '--split', default='training', choices=['training', 'evaluation'])
    parser.add_argument(
        '--keypoints',
        help='json (N, 21, 2) of 2-D joints in pixels instead of the '
        "split's ground truth")
    parser.add_argument('--k', type=int, default=8)
    parser.add_argument('--chunk', type=int, default=4096)
    parser.add_argument('--out', help='the .npz to write')
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f'--k must be >= 1, got {args.k}')
    return args


def _poses(args):
    """(N, 21, 2) pixels and where they came from."""
    import numpy as np

    from peclr_mm.datasets.freihand3d import load_freihand_annotations
    from peclr_mm.utils.camera import project
    if args.keypoints:
        with open(args.keypoints) as f:
            uv = np.asarray(json.load(f), np.float64)
        if uv.ndim != 3 or uv.shape[1:] != (21, 2):
            raise ValueError(f'{args.keypoints}: expected a json array of '
                             f'(N, 21, 2) joints in pixels, got {uv.shape}')
        return uv, f'keypoints {args.keypoints}'
    ann = load_freihand_annotations(args.data, args.split)
    return project(ann['xyz'], ann['K']), f'{args.split} ground truth'


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np

    from peclr_mm.datasets.similar_hands import (load_similar_hands,
                                                 mine_similar_hands,
                                                 write_similar_hands)
    out = args.out or osp.join(args.data,
                               f'similar_hands_{args.split}_k{args.k}.npz')
    if osp.exists(out):
        print(
            f'error: {out} exists (delete it or choose another --out)',
            file=sys.stderr)
        return 2
    partial_path = f'{out}.partial.npz'
    try:
        uv, source = _poses(args)
        meta = dict(source=source, k=args.k, num_images=len(uv))
        done = None
        if osp.isfile(partial_path):
            done = load_similar_hands(partial_path, k=args.k)
            if int(done['num_images']) != len(uv) or str(
                    done['source']) != source:
                raise ValueError(f'{partial_path} is from another run '
                                 f'({done["source"]}, {done["num_images"]} '
                                 'images); move it away to start afresh')
            print(f'continuing from {partial_path}: {len(done["index"])} of '
                  f'{len(uv)} done')
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    t0 = time.time()

    def progress(n_done, total, partial):
        write_similar_hands(partial_path, partial, **meta)
        print(f'  {n_done}/{total} ({time.time() - t0:.0f} s)', flush=True)

    try:
        mined = mine_similar_hands(
            uv, args.k, chunk=args.chunk, done=done, progress=progress)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    # the mined poses too: the pipeline crops the partner around them
    write_similar_hands(out, mined, poses=uv, **meta)
    if osp.isfile(partial_path):
        os.remove(partial_path)  # this run's own progress file
    d = mined['distance']
    print(f'wrote {out}: {len(uv)} poses x {args.k} neighbours from the '
          f'{source}; nearest distance median {float(np.median(d[:, 0])):.3f}'
          f' palm lengths, k-th {float(np.median(d[:, -1])):.3f} '
          f'({time.time() - t0:.1f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
