# Copyright (c) peclr_mm authors. All rights reserved.
"""Do a frozen encoder's features describe the hand or the picture?

FreiHAND (and the synthetic generator) stores each training hand in several
versions: the same pose and camera, another background and other colours.
For ``--num`` hands, this script takes version A of each as the query and
all hands' version B as the gallery, and reports where the query's own hand
ranks among the gallery by cosine similarity of the encoder's pooled
features (``projects.reproduction.probes.partner_rank``): top-1 and top-5
rates and the median rank, beside chance (median ``num / 2``). An encoder
whose features hold the hand finds it again on another background; one
whose features hold the background does not.

    python projects/reproduction/analysis/appearance.py --data DATA \\
        --encoder random \\
        --encoder peclr=work_dirs/reproduce/cpu/pretrain_peclr/epoch_3.pth \\
        --encoder supervised=work_dirs/demo/finetune/epoch_12.pth \\
        --out work_dirs/appearance

Views are the fine-tuning config's test pipeline (``--config``; any
checkpoint whose ``backbone.*`` weights fit it loads), pooled to each of
``--grid`` cells (1: the global average pool; 4: a 4 x 4 grid, which keeps
where in the crop the activations are). Writes ``appearance.json`` and
``appearance.md`` under ``--out``.
"""
import argparse
import os
import os.path as osp
import sys
import time

import numpy as np

from peclr_mm.utils.io import atomic_write_json
from projects.reproduction.analysis.encoder_args import add_encoder_args

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data',
        required=True,
        help='FreiHAND-layout root with at least two training versions')
    add_encoder_args(parser)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--num', type=int, default=500, help='hands')
    parser.add_argument(
        '--versions',
        type=int,
        nargs=2,
        default=[0, 1],
        metavar=('A', 'B'),
        help='query and gallery versions')
    parser.add_argument('--grid', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--out', required=True, help='output folder')
    args = parser.parse_args(argv)
    if args.versions[0] == args.versions[1]:
        parser.error(f'--versions: two different versions needed, got '
                     f'{args.versions}')
    if args.num < 2:
        parser.error(f'--num must be >= 2, got {args.num}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from projects.reproduction.probes import (build_with_encoder, partner_rank,
                                              pipeline_views, pooled_features)
    torch.set_num_threads(1)
    init_default_scope('mmpose')
    cfg = Config.fromfile(
        args.config if osp.isfile(args.config) else osp.
        join(ROOT, args.config))
    cfg.model.head.codec.input_size = (args.size, args.size)
    cfg.model.backbone.init_cfg = None
    t0 = time.time()
    a, b = (
        pipeline_views(cfg, args.data, 'training', args.num, args.size, v)
        for v in args.versions)
    ids = [[int(p['data_samples'].metainfo['sample_id']) for p in x]
           for x in (a, b)]
    if ids[0] != ids[1]:  # the identity the measure rests on
        raise RuntimeError(f'{args.data}: versions {args.versions} do not '
                           'list the same hands in the same order')
    rows = []
    for name, ckpt in args.encoder:
        model = build_with_encoder(cfg.model, ckpt)
        for grid in args.grid:
            rank = partner_rank(
                pooled_features(model, a, grid=grid),
                pooled_features(model, b, grid=grid))
            rows.append(
                dict(
                    encoder=name,
                    grid=grid,
                    top1=float(np.mean(rank == 0)),
                    top5=float(np.mean(rank < 5)),
                    median_rank=float(np.median(rank))))
    seconds = time.time() - t0
    lines = [
        f'Same hand, other appearance: {args.num} training hands, version '
        f'{args.versions[0]} as queries against version {args.versions[1]} '
        f'of all of them, {args.size} px test crops, cosine similarity of '
        'standardised pooled features (grid: cells per side). Chance: top-1 '
        f'{1 / args.num:.3f}, top-5 {min(5, args.num) / args.num:.3f}, '
        f'median rank {(args.num - 1) / 2:.0f}.', '',
        '| encoder | grid | top-1 | top-5 | median rank |',
        '|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(f'| {r["encoder"]} | {r["grid"]} | {r["top1"]:.3f} | '
                     f'{r["top5"]:.3f} | {r["median_rank"]:.0f} |')
    text = '\n'.join(lines)
    print(text)
    print(f'{seconds:.0f} s')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'appearance.md'), 'w') as f:
        f.write(text + '\n')
    atomic_write_json(
        osp.join(args.out, 'appearance.json'),
        dict(
            args={
                k: v
                for k, v in vars(args).items() if k != 'encoder'
            },
            encoders=[[n, c] for n, c in args.encoder],
            seconds=seconds,
            rows=rows),
        indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
