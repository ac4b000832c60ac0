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
atomically; never over one of its inputs, and over an existing file only
with ``--overwrite``. A run that is stopped keeps what it found in
``OUT.partial.npz``; a later run continues from there when the SHA-256
fingerprint of its poses' values and its parameters
(``mining_fingerprint``) is the same, and starts afresh, saying so, when
the poses or ``--k`` changed. Exit status: 0 written; 2 nothing written
(bad arguments or input, or the output refused), with a one-line error.
"""
import argparse
import os
import os.path as osp
import sys
import time
import zipfile

EXPECTED = 'a json array (N, 21, 2) of 2-D joints in pixels'


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
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing --out (never an input)')
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f'--k must be >= 1, got {args.k}')
    if args.chunk < 1:
        parser.error(f'--chunk must be >= 1, got {args.chunk}')
    return args


def read_keypoints(path: str):
    """(N, 21, 2) float64 pixels from ``path``; anything else raises a
    one-line ``ValueError`` naming the file, the first bad entry and what
    was expected."""
    import numpy as np

    from peclr_mm.utils.io import read_json
    data = read_json(path, EXPECTED)
    if not isinstance(data, list):
        kind = {
            dict: 'an object',
            str: 'a string',
            type(None): 'null'
        }.get(type(data), 'a number')
        raise ValueError(f'{path}: expected {EXPECTED}, got {kind}')
    if not data:
        raise ValueError(f'{path}: expected {EXPECTED}, got an empty array')
    try:
        uv = np.asarray(data, np.float64)
    except (ValueError, TypeError):  # ragged, or not numbers
        uv = None
    if uv is None or uv.shape[1:] != (21, 2):
        for i, entry in enumerate(data):
            try:  # None would become NaN
                shape = None if entry is None else np.asarray(
                    entry, np.float64).shape
            except (ValueError, TypeError):
                shape = None
            if shape != (21, 2):
                got = 'not an array of numbers' if shape is None else \
                    f'of shape {shape}'
                raise ValueError(f'{path}: entry {i} is {got}; expected '
                                 f'{EXPECTED} (each entry 21 x [u, v])')
    bad = np.flatnonzero(~np.isfinite(uv).all((1, 2)))
    if bad.size:
        raise ValueError(f'{path}: entry {int(bad[0])} is not finite '
                         f'({bad.size} such); expected {EXPECTED}')
    return uv


def _inputs(args):
    """The files the poses are read from."""
    if args.keypoints:
        return [args.keypoints]
    return [
        osp.join(args.data, f'{args.split}_{key}.json')
        for key in ('xyz', 'K', 'scale')
    ]


def _poses(args):
    """(N, 21, 2) pixels and where they came from."""
    from peclr_mm.datasets.freihand3d import load_freihand_annotations
    from peclr_mm.utils.camera import project
    if args.keypoints:
        return read_keypoints(args.keypoints), f'keypoints {args.keypoints}'
    ann = load_freihand_annotations(args.data, args.split)
    return project(ann['xyz'], ann['K']), f'{args.split} ground truth'


def _resume(partial_path: str, fingerprint: str, n: int):
    """The rows of an earlier run on the same content, or None (said)."""
    from peclr_mm.datasets.similar_hands import load_similar_hands
    if not osp.isfile(partial_path):
        return None
    try:
        done = load_similar_hands(partial_path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f'{partial_path} is not a partial result of this '
                         f'tool ({exc}); move it away') from None
    old = str(done['fingerprint']) if 'fingerprint' in done else None
    if old != fingerprint:
        why = 'holds no fingerprint (an older version wrote it)' if \
            old is None else (f'was mined from other poses or parameters '
                              f'(sha256 {old[:12]}, now {fingerprint[:12]})')
        print(f'{partial_path} {why}: starting afresh')
        return None
    print(f'continuing from {partial_path}: {len(done["index"])} of {n} '
          'done (same '
          f'poses and parameters, sha256 {fingerprint[:12]})')
    return done


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np

    from peclr_mm.datasets.similar_hands import (mine_similar_hands,
                                                 mining_fingerprint,
                                                 write_similar_hands)
    from peclr_mm.utils.io import check_output_path
    out = args.out or osp.join(args.data,
                               f'similar_hands_{args.split}_k{args.k}.npz')
    partial_path = f'{out}.partial.npz'
    try:
        check_output_path(out, _inputs(args), args.overwrite)
        # the progress file is this tool's own, but never an input either
        check_output_path(partial_path, _inputs(args), overwrite=True)
        uv, source = _poses(args)
        fingerprint = mining_fingerprint(uv, args.k)
        meta = dict(
            source=source,
            k=args.k,
            num_images=len(uv),
            fingerprint=fingerprint)
        done = _resume(partial_path, fingerprint, len(uv))
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
        print(f'error: {source}: {exc}', file=sys.stderr)
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
