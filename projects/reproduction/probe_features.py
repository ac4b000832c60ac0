# Copyright (c) peclr_mm authors. All rights reserved.
"""How much 2.5-D pose a frozen encoder's pooled features hold, measured
without any optimiser: a closed-form ridge regression (the exact linear
probe) from the backbone's average-pooled last feature map to the head's
targets (normalised ``uv`` and ``z_rel``), scored on the evaluation split
against the mean of the training targets.

    D=work_dirs/reproduce/cpu
    python -m projects.reproduction.probe_features --data $D/data \\
        --encoder random --encoder simclr=$D/pretrain_simclr/epoch_3.pth \\
        --encoder peclr=$D/pretrain_peclr/epoch_3.pth

If no encoder beats the mean here, the gradient-trained probe cannot
either: the information is not linearly in the features, and the cause is
the pretraining (or the resolution), not the probe's optimisation.
Views are the fine-tuning config's test pipeline (no augmentation), so the
same script runs on real FreiHAND.
"""
import argparse
import os.path as osp
import sys
import time
from typing import Sequence

import numpy as np

from peclr_mm.utils.io import atomic_write_json
from projects.reproduction.analysis.encoder_args import add_encoder_args
from projects.reproduction.probes import pipeline_views

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def head_targets(packed: Sequence[dict],
                 size: int,
                 root: str = 'palm') -> np.ndarray:
    """(N, 63): the 2.5-D head's targets of packed views, ``uv / size``
    (42, crop pixels over the crop size) then ``z_rel`` (21, bone units).

    Args:
        packed: pipeline outputs whose ``data_samples`` hold
            ``gt_instances.keypoints_3d`` (21 joints, metres in the camera
            frame) and the metainfo ``K_crop`` (3, 3) and ``bone_length``
            (metres).
        size: the crop size in pixels.
        root: the 2.5-D root (see :func:`peclr_mm.codecs.root_weights`).

    Returns:
        np.ndarray: (N, 63) float64 targets, ``u, v`` per joint then
        ``z_rel``.
    """
    from peclr_mm.codecs.hand25d import encode_25d

    def stack(key):
        return np.stack([
            np.asarray(v['data_samples'].metainfo[key], np.float64)
            for v in packed
        ])

    xyz = np.stack([
        np.asarray(v['data_samples'].gt_instances.keypoints_3d,
                   np.float64).reshape(-1, 3) for v in packed
    ])
    t = encode_25d(xyz,
                   stack('K_crop').reshape(-1, 3, 3),
                   stack('bone_length').reshape(-1), root)
    return np.concatenate([t['uv'].reshape(len(xyz), -1) / size, t['z_rel']],
                          1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True, help='FreiHAND-layout root')
    add_encoder_args(parser)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-eval', type=int, default=500)
    parser.add_argument(
        '--labels',
        type=int,
        nargs='+',
        default=[80, 400, 2000],
        help='labeled training samples per probe')
    parser.add_argument(
        '--lambdas', type=float, nargs='+', default=[1e2, 1e3, 1e4])
    parser.add_argument(
        '--grid',
        type=int,
        default=1,
        help='pool the last map to GRID x GRID cells (1: global average)')
    parser.add_argument('--out', help='write the results as json here')
    args = parser.parse_args(argv)

    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from projects.reproduction.probes import (build_with_encoder,
                                              pooled_features, ridge_probe)
    torch.set_num_threads(1)
    init_default_scope('mmpose')
    cfg = Config.fromfile(
        osp.join(ROOT, args.config) if not osp.isfile(args.config) else args.
        config)
    cfg.model.head.codec.input_size = (args.size, args.size)
    cfg.model.backbone.init_cfg = None
    if max(args.labels) > args.num_train:
        parser.error(f'--labels {max(args.labels)} > --num-train '
                     f'{args.num_train}')
    t0 = time.time()
    train = pipeline_views(cfg, args.data, 'training', args.num_train,
                           args.size)
    ev = pipeline_views(cfg, args.data, 'evaluation', args.num_eval, args.size)
    y_train = head_targets(train, args.size)
    y_eval = head_targets(ev, args.size)
    # the mean of the training targets, the probe's floor to beat
    rows = []
    for n in args.labels:
        base = y_train[:n].mean(0)
        rows.append(
            dict(
                encoder='mean',
                labels=n,
                lam=None,
                uv_l1=float(np.abs(base[:42] - y_eval[:, :42]).mean()),
                zrel_l1=float(np.abs(base[42:] - y_eval[:, 42:]).mean())))
    for name, ckpt in args.encoder:
        model = build_with_encoder(cfg.model, ckpt)
        f_train = pooled_features(model, train, grid=args.grid)
        f_eval = pooled_features(model, ev, grid=args.grid)
        for n in args.labels:
            for lam in args.lambdas:
                pred = ridge_probe(f_train[:n], y_train[:n], f_eval, lam)
                rows.append(
                    dict(
                        encoder=name,
                        labels=n,
                        lam=lam,
                        uv_l1=float(
                            np.abs(pred[:, :42] - y_eval[:, :42]).mean()),
                        zrel_l1=float(
                            np.abs(pred[:, 42:] - y_eval[:, 42:]).mean())))
    lines = [
        f'Ridge probe of pooled features ({args.grid}x{args.grid} cells), '
        f'{args.size} px, '
        f'{args.num_eval} evaluation views; L1 of normalised uv and of '
        'z_rel (bone units); best lambda per cell; ratio = encoder / mean '
        '(< 1: the features hold pose beyond the prior)', '',
        '| encoder | labels | uv L1 | uv ratio | z_rel L1 | z_rel ratio |',
        '|---|---|---|---|---|---|'
    ]
    best = {}
    for r in rows:
        key = (r['encoder'], r['labels'])
        if key not in best or r['uv_l1'] + r['zrel_l1'] < best[key][
                'uv_l1'] + best[key]['zrel_l1']:
            best[key] = r
    for (name, n), r in best.items():
        m = best[('mean', n)]
        lines.append(f'| {name} | {n} | {r["uv_l1"]:.4f} | '
                     f'{r["uv_l1"] / m["uv_l1"]:.3f} | {r["zrel_l1"]:.4f} | '
                     f'{r["zrel_l1"] / m["zrel_l1"]:.3f} |')
    print('\n'.join(lines))
    print(f'{time.time() - t0:.0f} s')
    if args.out:
        atomic_write_json(args.out, dict(args=vars(args), rows=rows), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
