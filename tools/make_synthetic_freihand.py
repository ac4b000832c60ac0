# Copyright (c) peclr_mm authors. All rights reserved.
"""Write a synthetic hand data set in the FreiHAND layout (or, with
``--youtube3d``, in the YouTube3DHands layout).

Examples (from the repository root, after ``make setup``)::

    python tools/make_synthetic_freihand.py --out data/synthetic_freihand \\
        --num-train 32560 --num-eval 3960 --versions 4 --seed 0 --workers 8
    python tools/make_synthetic_freihand.py --youtube3d \\
        --out data/youtube3dhands --num-train 47125 --workers 8

The generator, the package ``peclr_synthetic`` beside ``peclr_mm``, needs
only NumPy and OpenCV: this tool imports neither torch nor the OpenMMLab
stack. With scikit-image installed, its bundled photographs become
backgrounds too (the images then differ from a set written without it;
the labels do not).
"""
import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='data root to create')
    parser.add_argument(
        '--num-train',
        type=int,
        required=True,
        help='training annotations N (N * versions images)')
    parser.add_argument(
        '--num-eval',
        type=int,
        help='evaluation samples (FreiHAND layout; required there)')
    parser.add_argument(
        '--youtube3d',
        action='store_true',
        help='write the YouTube3DHands layout: youtube_train.json and '
        '--num-train frames with one hand each')
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
    if args.youtube3d and (args.overwrite or args.num_eval is not None):
        problem = '--overwrite and --num-eval are for the FreiHAND layout'
    elif not args.youtube3d and args.num_eval is None:
        problem = '--num-eval is required for the FreiHAND layout'
    else:
        problem = None
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    import peclr_synthetic as synthetic
    next_tenth = [0]

    def progress(done: int, total: int) -> None:
        if 10 * done >= next_tenth[0] * total:
            print(f'  {done}/{total} images', file=sys.stderr, flush=True)
            next_tenth[0] = 10 * done // total + 1

    common = dict(seed=args.seed, workers=args.workers, progress=progress)
    try:
        if args.youtube3d:
            res = synthetic.generate_youtube3d(args.out, args.num_train,
                                               **common)
        else:
            res = synthetic.generate_freihand(
                args.out,
                args.num_train,
                args.num_eval,
                versions=args.versions,
                overwrite=args.overwrite,
                **common)
    except (FileExistsError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if args.youtube3d:
        print(f"wrote {res['out_dir']}: {res['num_hands']} frames "
              f"({res['num_left']} left hands), {res['ann_file']} "
              f"({res['json_mib']:.0f} MiB) in {res['seconds']:.1f} s")
        return 0
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
