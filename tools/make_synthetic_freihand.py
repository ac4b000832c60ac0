# Copyright (c) peclr_mm authors. All rights reserved.
"""Write a synthetic hand data set in the FreiHAND layout.

Example (from the repository root, no install needed)::

    python tools/make_synthetic_freihand.py --out data/synthetic_freihand \\
        --num-train 32560 --num-eval 3960 --versions 4 --seed 0 --workers 8
"""
import argparse
import importlib.util
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_generator():
    """Return ``peclr_mm.datasets.synthetic``; if the package cannot be
    imported (not on the path, or its OpenMMLab dependencies are missing),
    load the module from its file: it needs only NumPy and OpenCV."""
    try:
        from peclr_mm.datasets import synthetic
        return synthetic
    except ImportError:
        pass
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
        try:
            from peclr_mm.datasets import synthetic
            return synthetic
        except ImportError:
            pass
    name = 'peclr_mm_synthetic'
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'peclr_mm', 'datasets', 'synthetic.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # worker processes find it by name
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='data root to create')
    parser.add_argument(
        '--num-train',
        type=int,
        required=True,
        help='training annotations N (N * versions images)')
    parser.add_argument(
        '--num-eval', type=int, required=True, help='evaluation samples')
    parser.add_argument(
        '--versions',
        type=int,
        default=4,
        help='images per training annotation (FreiHAND: 4)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace OUT if it exists and is not empty')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    synthetic = load_generator()
    next_tenth = [0]

    def progress(done: int, total: int) -> None:
        if 10 * done >= next_tenth[0] * total:
            print(f'  {done}/{total} images', file=sys.stderr, flush=True)
            next_tenth[0] = 10 * done // total + 1

    try:
        res = synthetic.generate_freihand(
            args.out,
            args.num_train,
            args.num_eval,
            versions=args.versions,
            seed=args.seed,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=progress)
    except (FileExistsError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f"wrote {res['out_dir']}:\n"
          f"  training: {res['num_train']} annotations x {res['versions']} "
          f"versions = {res['num_train'] * res['versions']} images, "
          'training_{xyz,K,scale}.json\n'
          f"  evaluation: {res['num_eval']} images, "
          'evaluation_{xyz,K,scale}.json\n'
          f"  {res['num_images']} images in {res['seconds']:.1f} s "
          f"({res['images_per_s']:.0f} images/s, {args.workers} worker(s))")
    return 0


if __name__ == '__main__':
    sys.exit(main())
