# Copyright (c) peclr_mm authors. All rights reserved.
"""Forward + backward time of PeCLR's loss against plain SimCLR NT-Xent.

For each batch size N, ``equivariant_nt_xent`` (undo each view's rotation
and translation on the latent points, then NT-Xent) is timed against
``nt_xent`` on L2-normalised projections (SimCLR), D = 128, temperature 0.5,
interleaved, median of rounds. The undo step costs O(N D) while the
(2N x 2N) similarity matrix costs O(N^2 D), so the ratio falls towards 1 as
N grows.

Example (from the repository root)::

    python tools/benchmarks/bench_loss.py
    python tools/benchmarks/bench_loss.py --batch-sizes 32 512 --threads 2
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from peclr_mm.models.losses import equivariant_nt_xent, nt_xent
from peclr_mm.utils.timing import time_interleaved

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def make_losses(n: int, dim: int) -> tuple:
    """(PeCLR loss step, SimCLR loss step) on the same random projections
    and paper-range geometry; each runs forward and backward."""
    gen = torch.Generator().manual_seed(n)
    p1 = torch.randn(n, dim, generator=gen).requires_grad_()
    p2 = torch.randn(n, dim, generator=gen).requires_grad_()
    theta = (torch.rand(2, n, generator=gen) * 2 - 1) * 45.
    shift = (torch.rand(2, n, 2, generator=gen) * 2 - 1) * 14. / 128.

    def peclr() -> None:
        p1.grad = p2.grad = None
        equivariant_nt_xent(p1, p2, theta[0], theta[1], shift[0], shift[1],
                            0.5).backward()

    def simclr() -> None:
        p1.grad = p2.grad = None
        nt_xent(F.normalize(p1, dim=1), F.normalize(p2, dim=1),
                0.5)[0].backward()

    return peclr, simclr


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='equivariant_nt_xent vs SimCLR NT-Xent, forward + '
        'backward.')
    parser.add_argument(
        '--batch-sizes',
        type=int,
        nargs='+',
        default=[32, 64, 128, 256, 512],
        help='N, images per batch')
    parser.add_argument('--dim', type=int, default=128, help='D')
    parser.add_argument(
        '--budget',
        type=float,
        default=0.1,
        help='seconds per side per round (sets the repetitions)')
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: steadier on a shared machine)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny run for the smoke test (N 32 and 64, 3 rounds)')
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.rounds, args.budget = [32, 64], 3, 0.02
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for n in args.batch_sizes:
        peclr, simclr = make_losses(n, args.dim)
        start = time.perf_counter()
        simclr()
        reps = max(3,
                   int(args.budget / max(time.perf_counter() - start, 1e-6)))
        t_peclr, t_simclr = (
            statistics.median(t)
            for t in time_interleaved([peclr, simclr], args.rounds, reps=reps))
        rows.append((n, t_simclr, t_peclr))

    print(f'\n==== bench_loss summary (D={args.dim}, forward+backward, '
          f'median of {args.rounds} interleaved rounds; torch threads: '
          f'{args.threads}) ====')
    print(f'{"N":>5} {"(2N)^2":>9} {"SimCLR ms":>10} {"PeCLR ms":>10} '
          f'{"ratio":>6} {"extra ms":>9} {"SimCLR x prev":>13}')
    prev = None
    for n, t_simclr, t_peclr in rows:
        growth = '' if prev is None else f'{t_simclr / prev:13.2f}'
        print(f'{n:5d} {(2 * n)**2:9d} {t_simclr * 1e3:10.3f} '
              f'{t_peclr * 1e3:10.3f} {t_peclr / t_simclr:6.3f} '
              f'{(t_peclr - t_simclr) * 1e3:9.3f} {growth}')
        prev = t_simclr
    n0, s0, p0 = rows[0]
    n1, s1, p1 = rows[-1]
    print(f'ratio PeCLR/SimCLR at N={n0}: {p0 / s0:.3f}, at N={n1}: '
          f'{p1 / s1:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
