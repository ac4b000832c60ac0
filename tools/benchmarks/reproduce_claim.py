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

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

BUDGETS = {
    # the test suite's check that the protocol runs end to end
    'smoke':
    dict(
        num_train=48,
        num_eval=16,
        versions=1,
        size=32,
        pretrain_epochs=1,
        probe_epochs=1,
        finetune_epochs=1,
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
        probe_epochs=2,
        finetune_epochs=2,
        fractions=[0.25],
        seeds=[0],
        finetune_seeds=[0]),
    # about an hour on 2 CPU cores
    'small':
    dict(
        num_train=5000,
        num_eval=500,
        versions=4,
        size=64,
        pretrain_epochs=2,
        probe_epochs=20,
        finetune_epochs=20,
        fractions=[0.02, 0.1],
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
        probe_epochs=100,
        finetune_epochs=100,
        fractions=[0.01, 0.02, 0.05, 0.1, 0.25],
        seeds=[0, 1, 2],
        finetune_seeds=[0, 1, 2]),
}
ENCODERS = ('random', 'simclr', 'peclr')


def _cfg(name: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def _set_size(pipeline: list, size: int) -> None:
    for t in pipeline:
        if t['type'] == 'HandCanonicalCrop':
            t['input_size'] = size
        if t['type'] == 'MultiViewWithGeometry':
            _set_size(t['transforms'], size)


def pretrain(kind: str, data: str, work: str, b: dict) -> str:
    """PeCLR or SimCLR pretraining; returns the last checkpoint."""
    from mmengine.runner import Runner
    ckpt = osp.join(work, f'epoch_{b["pretrain_epochs"]}.pth')
    if osp.isfile(ckpt):
        return ckpt
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
    return ckpt


def downstream(encoder_ckpt, mode: str, data: str, work: str, b: dict,
               fraction: float, seed: int) -> dict:
    """Probe or fine-tune on a labeled subset; return the test metrics."""
    from mmengine.runner import Runner
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
        cfg.model.backbone.frozen_stages = 4
        cfg.model.backbone.norm_eval = True
    for name in ('train_dataloader', 'test_dataloader', 'val_dataloader'):
        dl = cfg[name]
        dl.dataset.data_root = data
        dl.num_workers = 2
        _set_size(dl.dataset.pipeline, size)
    train = cfg.train_dataloader.dataset
    train.subset = fraction
    train.subset_seed = seed
    train.versions = [0]
    n_labeled = max(1, int(round(fraction * b['num_train'])))
    cfg.train_dataloader.batch_size = min(32, n_labeled)
    epochs = b[f'{mode}_epochs']
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=epochs)
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.param_scheduler = [
        dict(
            type='CosineAnnealingLR',
            T_max=epochs,
            by_epoch=True,
            begin=0,
            end=epochs,
            convert_to_iter_based=True)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    metrics = {k: float(v) for k, v in metrics.items() if '_j' not in k}
    metrics.update(n_labeled=n_labeled)
    with open(done, 'w') as f:
        json.dump(metrics, f)
    return metrics


def summarise(rows: list, out: str, budget: str, cmd: str, b: dict) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    lines = [
        f'# PeCLR vs SimCLR vs random init, budget `{budget}`', '',
        f'Command: `{cmd}`', '',
        f'Settings: ResNet-18, {b["size"]} px views/crops, '
        f'{b["num_train"]} x {b["versions"]} unlabeled training images, '
        f'{b["num_eval"]} evaluation images, pretraining '
        f'{b["pretrain_epochs"]} epochs, probe {b["probe_epochs"]} and '
        f'fine-tuning {b["finetune_epochs"]} epochs on labeled subsets of '
        'version 0 of the training annotations.', '',
        '| mode | labels | encoder | seeds | PA-EPE mm | EPE mm | AUC | '
        'PA-AUC |', '|---|---|---|---|---|---|---|---|'
    ]
    table = {}
    for r in rows:
        key = (r['mode'], r['fraction'], r['encoder'])
        table.setdefault(key, []).append(r)
    for (mode, frac, enc), rs in sorted(table.items()):

        def ms(k):
            v = np.array([r[k] for r in rs])
            return (f'{v.mean():.2f} ± {v.std():.2f}'
                    if len(v) > 1 else f'{v.mean():.2f}')

        lines.append(f'| {mode} | {frac:g} ({rs[0]["n_labeled"]}) | {enc} | '
                     f'{len(rs)} | {ms("freihand/PA-EPE")} | '
                     f'{ms("freihand/EPE")} | {ms("freihand/AUC")} | '
                     f'{ms("freihand/PA-AUC")} |')
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, mode in zip(axes, ('probe', 'finetune')):
        for enc in ENCODERS:
            pts = sorted((frac, [r['freihand/PA-EPE'] for r in rs])
                         for (m, frac, e), rs in table.items()
                         if m == mode and e == enc)
            if not pts:
                continue
            x = [p[0] for p in pts]
            y = [np.mean(p[1]) for p in pts]
            s = [np.std(p[1]) for p in pts]
            ax.errorbar(x, y, yerr=s, marker='o', capsize=3, label=enc)
        ax.set_xscale('log')
        ax.set_xlabel('labeled fraction')
        ax.set_title(mode)
        ax.grid(alpha=.3)
    axes[0].set_ylabel('PA-EPE (mm)')
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(osp.join(out, 'pa_epe_vs_labels.png'), dpi=100)
    print('\n'.join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--budget', choices=sorted(BUDGETS), default='small')
    parser.add_argument('--out', default='work_dirs/reproduce')
    parser.add_argument(
        '--data', help='an existing FreiHAND-layout root (default: generate)')
    args = parser.parse_args(argv)
    from mmengine.registry import init_default_scope

    import peclr_mm  # noqa: F401
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
        ckpts[kind] = pretrain(kind, data, osp.join(out, f'pretrain_{kind}'),
                               b)
        timing[f'pretrain_{kind}_s'] = time.time() - t
    rows = []
    for mode, seeds in (('probe', b['seeds']), ('finetune',
                                                b['finetune_seeds'])):
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
                        f'PA-EPE {m["freihand/PA-EPE"]:.2f} mm '
                        f'({time.time() - t:.0f} s)',
                        flush=True)
    timing['total_s'] = time.time() - t0
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(budget=b, rows=rows, timing=timing), f, indent=1)
    cmd = 'python tools/benchmarks/reproduce_claim.py ' + ' '.join(
        argv if argv is not None else sys.argv[1:])
    summarise(rows, out, args.budget, cmd, b)
    print(f'total {timing["total_s"] / 60:.1f} min; results in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
