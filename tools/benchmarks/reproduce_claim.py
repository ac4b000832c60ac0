# Copyright (c) peclr_mm authors. All rights reserved.
"""The paper's claim at small scale: PeCLR > SimCLR > no pretraining when
labels are scarce.

    python tools/benchmarks/reproduce_claim.py --budget small \
        --out work_dirs/reproduce

1. generate a synthetic FreiHAND set (unlabeled training images, a separate
   evaluation split), unless ``--data`` points at one (real FreiHAND works);
2. pretrain PeCLR and SimCLR with identical budgets and augmentations
   (``configs/{peclr,simclr}_resnet18_demo_synthetic.py``);
3. evaluate three encoders (random init, SimCLR, PeCLR) two ways on labeled
   subsets of the training annotations: the frozen-encoder probe (several
   seeds) and full fine-tuning (`configs/hand25d_resnet18_demo_synthetic.py`);
4. write ``results.md`` (a table of PA-EPE, EPE and AUC, mean and spread
   over seeds), ``results.json`` and ``pa_epe_vs_labels.png``.

Every run goes through a stock mmengine runner from the project's configs,
on CPU or GPU unchanged (the runner picks the device).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Tuple

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

# Downstream runs are counted in iterations, not epochs: with 2 % of the
# labels an epoch is a handful of steps, and a label-scarce run must not be
# starved of optimisation as well as of labels.
BUDGETS = {
    # the test suite's check that the protocol runs end to end
    'smoke':
    dict(
        num_train=48,
        num_eval=16,
        versions=1,
        size=32,
        pretrain_epochs=1,
        probe_iters=2,
        finetune_iters=2,
        fractions=[0.5],
        seeds=[0],
        finetune_seeds=[0]),
    # a few minutes
    'tiny':
    dict(
        num_train=400,
        num_eval=100,
        versions=1,
        size=32,
        pretrain_epochs=1,
        probe_iters=30,
        finetune_iters=30,
        fractions=[0.25],
        seeds=[0],
        finetune_seeds=[0]),
    # about an hour on 2 CPU cores (pretraining ~11 min per method, a probe
    # ~1 min, a fine-tuning ~2 min)
    'small':
    dict(
        num_train=5000,
        num_eval=500,
        versions=4,
        size=64,
        pretrain_epochs=2,
        probe_iters=500,
        finetune_iters=500,
        fractions=[0.02, 0.1, 1.0],
        seeds=[0, 1, 2],
        finetune_seeds=[0]),
    # a GPU: the same protocol, longer
    'full':
    dict(
        num_train=20000,
        num_eval=2000,
        versions=4,
        size=128,
        pretrain_epochs=50,
        probe_iters=10000,
        finetune_iters=30000,
        fractions=[0.01, 0.02, 0.05, 0.1, 0.25, 1.0],
        seeds=[0, 1, 2],
        finetune_seeds=[0, 1, 2]),
}
ENCODERS = ('random', 'simclr', 'peclr')
MODES = ('baseline', 'probe', 'finetune')


def _cfg(name: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def _set_size(pipeline: list, size: int) -> None:
    for t in pipeline:
        if t['type'] == 'HandCanonicalCrop':
            t['input_size'] = size
        if t['type'] == 'GenerateTarget':
            t['encoder']['input_size'] = (size, size)
        if t['type'] == 'MultiViewWithGeometry':
            _set_size(t['transforms'], size)


def pretrain(kind: str, data: str, work: str, b: dict) -> Tuple[str, bool]:
    """PeCLR or SimCLR pretraining; returns the last checkpoint and whether
    it was already there (reused, not trained)."""
    from mmengine.runner import Runner
    ckpt = osp.join(work, f'epoch_{b["pretrain_epochs"]}.pth')
    if osp.isfile(ckpt):
        return ckpt, True
    cfg = _cfg(f'{kind}_resnet18_demo_synthetic.py')
    cfg.work_dir = work
    cfg.train_dataloader.dataset.data_root = data
    _set_size(cfg.train_dataloader.dataset.pipeline, b['size'])
    cfg.train_cfg.max_epochs = b['pretrain_epochs']
    e = b['pretrain_epochs']
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=1e-3,
            by_epoch=False,
            begin=0,
            end=100),
        dict(
            type='CosineAnnealingLR',
            T_max=e,
            by_epoch=True,
            begin=0,
            end=e,
            convert_to_iter_based=True)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=e, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50
    cfg.randomness = dict(seed=0)
    # resume a killed run from its last checkpoint
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    return ckpt, False


def downstream(encoder_ckpt, mode: str, data: str, work: str, b: dict,
               fraction: float, seed: int) -> dict:
    """Probe or fine-tune on a labeled subset; return the test metrics."""
    from mmengine.runner import Runner

    from peclr_mm.engine.budget import loss_first_last, set_iteration_budget
    from peclr_mm.utils.io import atomic_write_json
    done = osp.join(work, 'metrics.json')
    if osp.isfile(done):
        return json.load(open(done))
    cfg = _cfg('hand25d_resnet18_demo_synthetic.py')
    cfg.work_dir = work
    size = b['size']
    cfg.model.head.codec.input_size = (size, size)
    cfg.model.backbone.init_cfg = None if encoder_ckpt is None else dict(
        type='Pretrained', checkpoint=encoder_ckpt, prefix='backbone.')
    if mode == 'probe':
        cfg.model.backbone.frozen_stages = cfg.model.backbone.get(
            'num_stages', 4)
        cfg.model.backbone.norm_eval = True
    for name in ('train_dataloader', 'test_dataloader', 'val_dataloader'):
        dl = cfg[name]
        dl.dataset.data_root = data
        dl.num_workers = 2
        _set_size(dl.dataset.pipeline, size)
    train = cfg.train_dataloader.dataset
    train.subset = fraction
    train.subset_seed = seed
    # the mean pose of the labeled subset this run trains on
    cfg.test_evaluator = dict(
        type='FreiHand3DMetric',
        mean_pose=dict(data_root=data, subset=fraction, subset_seed=seed))
    train.versions = [0]
    n_labeled = max(1, int(round(fraction * b['num_train'])))
    cfg.train_dataloader.batch_size = min(32, n_labeled)
    # iteration-based: an infinite sampler keeps the workers alive (a subset
    # of 2 % is two batches, and restarting the loader every two batches
    # made data loading 90 % of a probe step)
    set_iteration_budget(cfg, b[f'{mode}_iters'])
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    t = time.time()
    runner.train()
    # the training loss at the start and end of the run: did it learn?
    train_loss = loss_first_last(runner.message_hub)
    train_s = time.time() - t
    metrics = runner.test()
    metrics = {k: float(v) for k, v in metrics.items() if '_j' not in k}
    metrics.update(train_loss, n_labeled=n_labeled, train_s=train_s)
    atomic_write_json(done, metrics)
    return metrics


def mean_pose_baseline(data: str, ev: dict, fraction: float,
                       seed: int) -> dict:
    """Scores of a prediction that ignores the image: the mean wrist-relative
    pose of the labeled subset, placed at each evaluation hand's true wrist.
    A reference for how much an encoder learned beyond the pose prior.

    Args:
        data: the FreiHAND-layout root.
        ev: its evaluation annotations (``load_freihand_annotations``).
    """
    from mmpose.registry import DATASETS, METRICS
    labeled = DATASETS.build(
        dict(
            type='FreiHand3DDataset',
            data_root=data,
            split='training',
            versions=[0],
            subset=fraction,
            subset_seed=seed,
            pipeline=[]))
    xyz = np.stack([
        np.asarray(labeled.get_data_info(i)['keypoints_3d']).reshape(21, 3)
        for i in range(len(labeled))
    ])
    pred = (xyz - xyz[:, :1]).mean(0)[None] + ev['xyz'][:, :1]
    # scored by the metric the downstream runs use, as they are
    metric = METRICS.build(dict(type='FreiHand3DMetric'))
    metric.process([], [
        dict(
            pred_instances=dict(keypoints_3d=p[None]),
            gt_instances=dict(keypoints_3d=g[None]),
            K=k) for p, g, k in zip(pred, ev['xyz'], ev['K'])
    ])
    scores = metric.evaluate(len(pred))
    scores = {k: float(v) for k, v in scores.items() if '_j' not in k}
    return dict(scores, n_labeled=len(labeled))


COLUMNS = (
    ('PA-EPE', 'freihand/PA-EPE', '.1f'),
    ('RR-EPE', 'freihand/RR-EPE', '.1f'),
    ('EPE', 'freihand/EPE', '.0f'),
    ('EPE-2D', 'freihand/EPE-2D', '.1f'),
    ('PA-AUC', 'freihand/PA-AUC', '.3f'),
    ('AUC', 'freihand/AUC', '.3f'),
    ('uv loss first/last', 'loss_uv', None),
)


def _cell(rs: list, key: str, fmt) -> str:
    if fmt is None:  # training loss at the start and the end of the runs
        if f'{key}_first' not in rs[0]:
            return '-'
        first = np.mean([r[f'{key}_first'] for r in rs])
        last = np.mean([r[f'{key}_last'] for r in rs])
        return f'{first:.3f} / {last:.3f}'
    v = np.array([r[key] for r in rs])
    if len(v) > 1:
        return f'{v.mean():{fmt}} ± {v.std():{fmt}}'
    return f'{v.mean():{fmt}}'


def summarise(rows: list, out: str, budget: str, cmd: str, b: dict,
              timing: dict) -> str:
    """Write ``results.md`` and ``pa_epe_vs_labels.png``; return the table."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    lines = [
        f'# PeCLR vs SimCLR vs random init, budget `{budget}`', '',
        f'Command: `{cmd}`', '',
        f'Settings: ResNet-18, {b["size"]} px views and crops, '
        f'{b["num_train"]} x {b["versions"]} unlabeled training images '
        f'(pretraining), {b["num_eval"]} evaluation images; pretraining '
        f'{b["pretrain_epochs"]} epochs (batch 32); probe (frozen encoder, '
        f'linear head) {b["probe_iters"]} and fine-tuning '
        f'{b["finetune_iters"]} iterations on labeled subsets of version 0 '
        'of the training annotations; mean ± std over seeds (subset draw and '
        'head initialisation). `mean pose` ignores the image: the labeled '
        "subset's mean wrist-relative pose placed at the true wrist.", '',
        'Errors in mm except EPE-2D (image pixels); RR-EPE is root (wrist) '
        'relative; AUC over 0-50 mm. Wall time: ' +
        ', '.join(f'{k[:-2]} {v / 60:.1f} min' for k, v in timing.items()), '',
        '| mode | labels | encoder | seeds | ' + ' | '.join(c[0]
                                                            for c in COLUMNS) +
        ' |', '|---|---|---|---|' + '---|' * len(COLUMNS)
    ]
    table = {}
    for r in rows:
        key = (r['mode'], r['fraction'], r['encoder'])
        table.setdefault(key, []).append(r)
    order = {e: i for i, e in enumerate(('mean pose', ) + ENCODERS)}
    for (mode, frac, enc), rs in sorted(
            table.items(),
            key=lambda kv: (MODES.index(kv[0][0]), kv[0][1], order[kv[0][2]])):
        lines.append(f'| {mode} | {frac:g} ({rs[0]["n_labeled"]}) | {enc} | '
                     f'{len(rs)} | ' + ' | '.join(
                         _cell(rs, key, fmt)
                         for _, key, fmt in COLUMNS) + ' |')
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(text)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for col, mode in enumerate(('probe', 'finetune')):
        for row, (name, key) in enumerate(
            (('PA-EPE (mm)', 'freihand/PA-EPE'), ('RR-EPE (mm)',
                                                  'freihand/RR-EPE'))):
            ax = axes[row, col]
            for enc in ('mean pose', ) + ENCODERS:
                pts = sorted((frac, [r[key] for r in rs])
                             for (m, frac, e), rs in table.items()
                             if m in (mode, 'baseline') and e == enc)
                if not pts:
                    continue
                ax.errorbar([p[0] for p in pts], [np.mean(p[1]) for p in pts],
                            yerr=[np.std(p[1]) for p in pts],
                            marker='o',
                            capsize=3,
                            label=enc,
                            linestyle='--' if enc == 'mean pose' else '-',
                            color='grey' if enc == 'mean pose' else None)
            ax.set_xscale('log')
            ax.grid(alpha=.3)
            ax.set_ylabel(name)
            if row == 0:
                ax.set_title(mode)
            else:
                ax.set_xlabel('labeled fraction')
    axes[0, 0].legend()
    fig.suptitle(f'PeCLR reproduction, budget {budget}')
    fig.tight_layout()
    fig.savefig(osp.join(out, 'pa_epe_vs_labels.png'), dpi=100)
    plt.close(fig)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--budget', choices=sorted(BUDGETS), default='small')
    parser.add_argument('--out', default='work_dirs/reproduce')
    parser.add_argument(
        '--data', help='an existing FreiHAND-layout root (default: generate)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s own choice); on a small '
        'shared CPU machine 1 leaves a core to the data workers')
    args = parser.parse_args(argv)
    import torch
    from mmengine.registry import init_default_scope

    import peclr_mm  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmpose')
    b = BUDGETS[args.budget]
    out = osp.join(args.out, args.budget)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    data = args.data
    if data is None:
        data = osp.join(out, 'data')
        if not osp.isfile(osp.join(data, 'evaluation_xyz.json')):
            from peclr_mm.datasets.synthetic import generate_freihand
            generate_freihand(
                data,
                b['num_train'],
                b['num_eval'],
                versions=b['versions'],
                seed=123,
                workers=2)
    timing = {}
    ckpts = dict(random=None)
    for kind in ('peclr', 'simclr'):
        t = time.time()
        ckpts[kind], reused = pretrain(kind, data,
                                       osp.join(out, f'pretrain_{kind}'), b)
        # a finished checkpoint is reused: say so rather than report 0 min
        tag = ' (reused)' if reused else ''
        timing[f'pretrain_{kind}{tag}_s'] = time.time() - t
    from peclr_mm.datasets import load_freihand_annotations
    ev = load_freihand_annotations(data, 'evaluation')
    rows = []
    for frac in b['fractions']:
        for seed in b['seeds']:
            rows.append(
                dict(
                    mean_pose_baseline(data, ev, frac, seed),
                    mode='baseline',
                    fraction=frac,
                    seed=seed,
                    encoder='mean pose'))
    for mode, seeds in (('probe', b['seeds']), ('finetune',
                                                b['finetune_seeds'])):
        t_mode = time.time()
        for frac in b['fractions']:
            for seed in seeds:
                for enc in ENCODERS:
                    t = time.time()
                    work = osp.join(out, mode, f'{enc}_f{frac:g}_s{seed}')
                    m = downstream(ckpts[enc], mode, data, work, b, frac, seed)
                    rows.append(
                        dict(
                            m,
                            mode=mode,
                            fraction=frac,
                            seed=seed,
                            encoder=enc))
                    print(
                        f'{mode} {enc} fraction {frac} seed {seed}: '
                        f'PA-EPE {m["freihand/PA-EPE"]:.2f} mm, RR-EPE '
                        f'{m["freihand/RR-EPE"]:.2f} mm '
                        f'({time.time() - t:.0f} s)',
                        flush=True)
        timing[f'{mode}_s'] = time.time() - t_mode
    timing['total_s'] = time.time() - t0
    from peclr_mm.utils.io import atomic_write_json
    cmd = 'python tools/benchmarks/reproduce_claim.py ' + ' '.join(
        argv if argv is not None else sys.argv[1:])
    atomic_write_json(
        osp.join(out, 'results.json'),
        dict(budget=b, command=cmd, rows=rows, timing=timing),
        indent=1)
    print(summarise(rows, out, args.budget, cmd, b, timing))
    print(f'total {timing["total_s"] / 60:.1f} min; results in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
