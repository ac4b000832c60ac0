# Copyright (c) peclr_mm authors. All rights reserved.
"""Time a PeCLR training step against mmpretrain's SimCLR.

Both models have the same backbone (mmpose's ``ResNet``), the same
projection (``mmpretrain.NonLinearNeck``, 2 layers, ``C -> 512 -> 128``),
the same initial weights, temperature 0.5 and an Adam optimiser; both get
the same preprocessed two-view batch, made by the project's pipeline from a
synthetic FreiHAND-layout set. A step is forward, loss, backward and
optimiser step (``OptimWrapper.update_params``); data preprocessing is done
once, outside the timing. Steps of the two models are interleaved
(A B B A ...) and the median step time of each is reported.

torch runs on one thread by default: on a shared machine, two OpenMP threads
on two busy cores wait for each other at every op (a ResNet-18 step took
4.7 s with 2 threads against 0.4-0.6 s with 1 here), which would drown the
difference being measured.

Separately, the equivariant latent step alone (``undo_view_geometry`` on
both views' projections, forward and backward) is timed and reported as a
fraction of the PeCLR step.

Example (from the repository root)::

    python tools/benchmarks/bench_step.py
    python tools/benchmarks/bench_step.py --depth 50
"""
import argparse
import os.path as osp
import shutil
import statistics
import sys
import tempfile
from typing import Callable, List

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import peclr_mm  # noqa: F401 (registers PeCLR and the transforms)
from peclr_mm.datasets.freihand3d import FreiHand3DDataset
from peclr_mm.models.losses import undo_view_geometry
from peclr_mm.utils.timing import time_interleaved, verdict
from peclr_synthetic import generate_freihand

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TARGET_STEP_RATIO = 1.03
TARGET_LATENT_FRACTION = 0.03
FEATURES = {18: 512, 34: 512, 50: 2048, 101: 2048, 152: 2048}


def build_models(depth: int) -> tuple:
    """(PeCLR, SimCLR) with identical backbones, necks and weights."""
    preprocessor = dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True)
    backbone = dict(type='ResNet', depth=depth, norm_cfg=dict(type='BN'))
    neck = dict(
        type='mmpretrain.NonLinearNeck',
        in_channels=FEATURES[depth],
        hid_channels=512,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d'))
    peclr = MODELS.build(
        dict(
            type='PeCLR',
            data_preprocessor=preprocessor,
            backbone=backbone,
            neck=neck,
            head=dict(type='EquivariantContrastiveHead', temperature=0.5)))
    simclr = MODELS.build(
        dict(
            type='mmpretrain.SimCLR',
            data_preprocessor=preprocessor,
            backbone=backbone,
            neck=neck,
            head=dict(
                type='mmpretrain.ContrastiveHead',
                loss=dict(type='mmpretrain.CrossEntropyLoss'),
                temperature=0.5)))
    if type(peclr.backbone) is not type(simclr.backbone):
        raise RuntimeError('the two models built different backbones: '
                           f'{type(peclr.backbone)} {type(simclr.backbone)}')
    simclr.backbone.load_state_dict(peclr.backbone.state_dict())
    simclr.neck.load_state_dict(peclr.neck.state_dict())
    return peclr.train(), simclr.train()


def make_batch(model, batch_size: int, size: int, workdir: str) -> dict:
    """A preprocessed two-view batch from the project's pipeline."""
    data = osp.join(workdir, 'synthetic_freihand')
    generate_freihand(
        data, num_train=batch_size, num_eval=1, versions=1, seed=0)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'peclr_pipeline.py'))
    pipeline = cfg.train_pipeline
    for t in pipeline:
        if t['type'] == 'MultiViewWithGeometry':
            t['transforms'][0]['input_size'] = size
    dataset = FreiHand3DDataset(data_root=data, pipeline=pipeline)
    batch = default_collate([dataset[i] for i in range(batch_size)])
    with torch.no_grad():
        return model.data_preprocessor(batch, training=True)


def make_step(model, data: dict, lr: float) -> Callable[[], None]:
    """One training step without preprocessing: forward, loss, backward,
    optimiser step, as ``BaseModel.train_step`` does after preprocessing."""
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=lr))

    def step() -> None:
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)

    return step


def time_latent(data: dict, dim: int, reps: int, rounds: int) -> tuple:
    """Median seconds of the equivariant latent step on both views
    (forward and backward) and of SimCLR's normalisation it replaces."""
    samples = data['data_samples']
    n = len(samples)
    theta = torch.stack(
        [torch.from_numpy(s.metainfo['view_theta']) for s in samples])
    shift = torch.stack(
        [torch.from_numpy(s.metainfo['view_shift']) for s in samples])
    z1 = torch.randn(n, dim, requires_grad=True)
    z2 = torch.randn(n, dim, requires_grad=True)
    g1, g2 = torch.randn(n, dim), torch.randn(n, dim)

    def undo() -> None:
        q1 = undo_view_geometry(z1, theta[:, 0], shift[:, 0])
        q2 = undo_view_geometry(z2, theta[:, 1], shift[:, 1])
        torch.autograd.backward([q1, q2], [g1, g2])

    def normalise() -> None:
        q1, q2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
        torch.autograd.backward([q1, q2], [g1, g2])

    t_undo, t_norm = time_interleaved([undo, normalise], rounds, reps=reps)
    return statistics.median(t_undo), statistics.median(t_norm)


def _spread(times: List[float]) -> str:
    return f'{min(times) * 1e3:.0f}-{max(times) * 1e3:.0f} ms'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PeCLR training step vs mmpretrain SimCLR.')
    parser.add_argument(
        '--depth',
        type=int,
        default=18,
        choices=sorted(FEATURES),
        help='ResNet depth of both models')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--size', type=int, default=64, help='view size, px')
    parser.add_argument(
        '--steps', type=int, default=20, help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1; 0 keeps torch\'s default). On a '
        'shared machine more threads stall on each other at every op')
    parser.add_argument('--lr', type=float, default=1e-4)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny run for the smoke test (batch 4, 32 px, 2 steps)')
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.size, args.steps, args.warmup = 4, 32, 2, 1
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    init_default_scope('mmpose')
    torch.manual_seed(0)
    peclr, simclr = build_models(args.depth)
    tmp = tempfile.mkdtemp(prefix='bench_step_')
    try:
        data = make_batch(peclr, args.batch_size, args.size, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    times_peclr, times_simclr = time_interleaved(
        [make_step(peclr, data, args.lr),
         make_step(simclr, data, args.lr)],
        args.steps,
        warmup=args.warmup)
    t_peclr = statistics.median(times_peclr)
    t_simclr = statistics.median(times_simclr)
    # Neighbouring steps share the machine's momentary load.
    paired = statistics.median(
        [a / b for a, b in zip(times_peclr, times_simclr)])
    t_undo, t_norm = time_latent(
        data, 128, reps=50, rounds=max(3, args.steps // 2))

    ratio = t_peclr / t_simclr
    fraction = t_undo / t_peclr
    print(f'\n==== bench_step summary (ResNet-{args.depth}, batch '
          f'{args.batch_size} x 2 views, {args.size} px, {args.steps} '
          f'interleaved steps, median; torch threads: '
          f'{torch.get_num_threads()}) ====')
    print(f'PeCLR step                            {t_peclr * 1e3:9.1f} ms')
    print(f'SimCLR step (mmpretrain)              {t_simclr * 1e3:9.1f} ms')
    print(f'ratio PeCLR/SimCLR                    {ratio:9.3f}')
    print(f'  (median of paired step ratios       {paired:9.3f})')
    print(f'  (step spread PeCLR {_spread(times_peclr)}, SimCLR '
          f'{_spread(times_simclr)})')
    print(f'latent undo, 2 views, fwd+bwd         {t_undo * 1e3:9.3f} ms')
    print(f'  (SimCLR normalise it replaces       {t_norm * 1e3:9.3f} ms)')
    print(f'ratio latent undo/PeCLR step          {fraction * 100:8.2f} %')
    print(f'target PeCLR/SimCLR <= {TARGET_STEP_RATIO:.2f}            '
          f'{verdict(ratio <= TARGET_STEP_RATIO)}')
    print(f'target latent undo < {TARGET_LATENT_FRACTION * 100:.0f} % of step'
          f'          {verdict(fraction < TARGET_LATENT_FRACTION)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
