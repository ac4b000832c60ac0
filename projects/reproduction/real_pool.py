# Copyright (c) peclr_mm authors. All rights reserved.
"""Does PeCLR pretraining on real, unlabeled hands make a model read real
photographs better?

Encoders pretrained at equal compute (the same number of iterations of the
same batch) under four conditions, then each fine-tuned on a fraction of
the labeled renders (and probed: the encoder frozen, the head trained),
3 seeds, and scored on real photographs (the real-world test set, frames
0-291, mirrored to right hands) and on the renders' evaluation split:

- ``random``: no pretraining;
- ``peclr_renders``: PeCLR on the renders;
- ``peclr_renders_real``: PeCLR on the renders + a folder of real hands
  (``tools/dataset_converters/hand_photos.py``), ``real_share`` of every
  batch real;
- ``simclr_renders_real``: the same data, SimCLR (no equivariance).

Every run is kept in its own folder under ``--out`` and skipped when its
record exists, so a killed study resumes; a pretraining run resumes from
its last checkpoint. Rows (``docs/results/real_pool.json``)::

    {"condition", "seed", "labels", "mode": "finetune"|"probe",
     "split": "real_0_291"|"synthetic",
     "metric": "PA-EPE"|"EPE-2D-in-box"|"RR-EPE", "value", "mean_pose",
     "ratio"}

values in mm (PA-EPE, RR-EPE) or px (EPE-2D: the model's 2-D error;
``mean_pose`` is the set's own mean pose placed in each hand's box for
EPE-2D-in-box, and ``ratio`` = value / mean_pose).

Run from the repository root::

    python -m projects.reproduction.real_pool \\
        --renders data/synthetic_freihand --real-hands data/real_hands \\
        --real-test data/real_world_0_291 --out work_dirs/real_pool \\
        --results docs/results/real_pool.json
"""
import argparse
import copy
import os.path as osp
import sys
import time
from typing import List, Optional

from peclr_mm.utils.io import atomic_write_json, read_json

PRETRAIN = dict(
    peclr_renders='configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-'
    '64.py',
    peclr_renders_real='configs/peclr/peclr_resnet18-2stage_1xb32-1e_'
    'synthetic-real-hands-64.py',
    simclr_renders='configs/simclr/simclr_resnet18-2stage_1xb32-1e_'
    'synthetic-64.py',
    simclr_renders_real='configs/simclr/simclr_resnet18-2stage_1xb32-1e_'
    'synthetic-real-hands-64.py')
CONDITIONS = ('random', 'peclr_renders', 'peclr_renders_real',
              'simclr_renders_real')
DOWNSTREAM = ('configs/hand25d/hand25d_resnet18-2stage-peclr_1xb32-12e_'
              'synthetic-64.py')
METRICS = (('PA-EPE', 'PA-EPE'), ('EPE-2D-in-box', 'EPE-2D'), ('RR-EPE',
                                                               'RR-EPE'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--renders', default='data/synthetic_freihand')
    parser.add_argument('--real-hands', default='data/real_hands')
    parser.add_argument('--real-test', default='data/real_world_0_291')
    parser.add_argument('--out', default='work_dirs/real_pool')
    parser.add_argument('--results', default=None, help='rows json')
    parser.add_argument(
        '--conditions',
        nargs='+',
        default=list(CONDITIONS),
        choices=['random', *PRETRAIN])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument(
        '--labels',
        nargs='*',
        type=float,
        default=[0.1, 1.0],
        help='fractions of the labeled renders to fine-tune on')
    parser.add_argument('--probe-labels', nargs='*', type=float, default=[1.0])
    parser.add_argument(
        '--pretrain-epochs',
        type=int,
        default=2,
        help='pretraining epochs of as many samples as the renders hold')
    parser.add_argument('--real-share', type=float, default=0.5)
    parser.add_argument('--temperature', type=float, default=None)
    parser.add_argument('--finetune-iters', type=int, default=500)
    parser.add_argument('--probe-iters', type=int, default=300)
    parser.add_argument(
        '--encoder-lr-mult',
        type=float,
        default=1.0,
        help="fine-tuning: the encoder's learning rate over the head's")
    parser.add_argument(
        '--encoders',
        nargs='*',
        default=[],
        metavar='CONDITION=CHECKPOINT',
        help='reuse a pretrained encoder (e.g. the demo\'s) for a condition '
        'instead of pretraining it')
    parser.add_argument(
        '--pretrain-per-seed',
        action='store_true',
        help='pretrain each condition once per seed (default: once, with '
        'seed 0; the seeds then vary the labeled subset and the head)')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='collect the finished runs\' records only; train nothing')
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args(argv)


def _name(cfg, work: str) -> None:
    # mmengine's global MessageHub/logger are named after the run
    cfg['experiment_name'] = work
    if cfg.get('visualizer') is not None:
        cfg['visualizer']['name'] = f'visualizer:{work}'


def _count(renders: str) -> int:
    return len(
        read_json(
            osp.join(renders, 'training_xyz.json'),
            'the renders\' training joints'))


def pretrain(cond: str, seed: int, args) -> str:
    """Pretrain ``cond``'s encoder (resumes); returns its checkpoint."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    work = osp.join(args.out, 'pretrain', f'{cond}_s{seed}')
    ckpt = osp.join(work, f'epoch_{args.pretrain_epochs}.pth')
    if osp.isfile(ckpt):
        return ckpt
    cfg = Config.fromfile(PRETRAIN[cond])
    cfg.work_dir = work
    _name(cfg, work)
    loader = cfg.train_dataloader
    parts = loader.dataset.datasets if loader.dataset.type == \
        'ConcatDataset' else [loader.dataset]
    for d in parts:
        d.data_root = args.real_hands if d.type == 'HandImageFolder' else \
            args.renders
    if loader.sampler.type == 'BalancedSourceSampler':
        # the renders-only run's epoch: equal compute
        loader.sampler.num_samples = _count(args.renders)
        loader.sampler.source_weights = [1 - args.real_share, args.real_share]
        loader.sampler.seed = seed
    if args.temperature is not None:
        cfg.model.head.temperature = args.temperature
    epochs = args.pretrain_epochs
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
    cfg.param_scheduler[-1].update(T_max=epochs, end=epochs)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1)
    cfg.randomness = dict(seed=seed)
    cfg.resume = True
    cfg.log_level = 'WARNING'
    Runner.from_cfg(cfg).train()
    return ckpt


def _downstream_cfg(encoder: Optional[str], mode: str, labels: float,
                    seed: int, work: str, args):
    from mmengine.config import Config

    from peclr_mm.datasets.freihand3d import select_subset
    from projects.reproduction.schedules import set_iteration_budget
    cfg = Config.fromfile(DOWNSTREAM)
    cfg.work_dir = work
    _name(cfg, work)
    cfg.model.backbone.init_cfg = None if encoder is None else dict(
        type='Pretrained', checkpoint=encoder, prefix='backbone.')
    if mode == 'probe':
        cfg.model.backbone.frozen_stages = cfg.model.backbone.get(
            'num_stages', 4)
        cfg.model.backbone.norm_eval = True
    elif args.encoder_lr_mult != 1.0:
        # ConfigDict.setdefault hands back a copy: assign explicitly
        paramwise = dict(cfg.optim_wrapper.get('paramwise_cfg') or {})
        keys = dict(paramwise.get('custom_keys') or {})
        keys['backbone'] = dict(lr_mult=args.encoder_lr_mult)
        paramwise['custom_keys'] = keys
        cfg.optim_wrapper.paramwise_cfg = paramwise
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = args.renders
    cfg.test_evaluator.mean_pose.data_root = args.renders
    train = cfg.train_dataloader.dataset
    train.subset = labels
    train.subset_seed = seed
    n = len(select_subset(_count(args.renders), float(labels)))
    cfg.train_dataloader.batch_size = min(cfg.train_dataloader.batch_size, n)
    set_iteration_budget(
        cfg, args.finetune_iters if mode == 'finetune' else args.probe_iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    return cfg, n


def downstream(cond: str, encoder: Optional[str], mode: str, labels: float,
               seed: int, args) -> dict:
    """Fine-tune (or probe) once; the test metrics on both splits."""
    from mmengine.runner import Runner
    work = osp.join(args.out, mode, f'{cond}_l{labels:g}_s{seed}')
    done = osp.join(work, 'record.json')
    if osp.isfile(done):
        return read_json(done, 'a finished run\'s record')
    cfg, n = _downstream_cfg(encoder, mode, labels, seed, work, args)
    runner = Runner.from_cfg(cfg)
    t = time.time()
    runner.train()
    train_s = time.time() - t
    record = dict(n_labeled=n, train_s=train_s, splits={})
    ckpt = osp.join(work, f'iter_{cfg.train_cfg.max_iters}.pth')
    for split, root in (('synthetic', args.renders), ('real_0_291',
                                                      args.real_test)):
        test = copy.deepcopy(cfg)
        test.work_dir = osp.join(work, f'test_{split}')
        _name(test, test.work_dir)
        test.train_dataloader = test.train_cfg = test.optim_wrapper = None
        test.param_scheduler = None
        test.test_dataloader.dataset.data_root = root
        test.test_evaluator.mean_pose.data_root = root
        test.load_from = ckpt
        test.model.backbone.init_cfg = None
        metrics = Runner.from_cfg(test).test()
        record['splits'][split] = {
            k: float(v)
            for k, v in metrics.items() if '_j' not in k
        }
    atomic_write_json(done, record, indent=1)
    return record


def rows_of(cond: str, seed: int, labels: float, mode: str,
            record: dict) -> List[dict]:
    rows = []
    for split, m in record['splits'].items():
        for name, key in METRICS:
            value = m.get(f'freihand/{key}')
            if value is None:
                continue
            ref = m.get(f'freihand/mean-pose/{name}')
            rows.append(
                dict(
                    condition=cond,
                    seed=seed,
                    labels=labels,
                    mode=mode,
                    split=split,
                    metric=name,
                    value=value,
                    mean_pose=ref,
                    ratio=None if ref is None else value / ref))
    return rows


def table(rows: List[dict]) -> str:
    """Markdown: per mode, labels, split and metric, each condition's
    mean +- standard deviation over seeds (ratio to the set's mean pose)
    and its gain over ``peclr_renders`` in percent."""
    import numpy as np
    cells = {}
    for r in rows:
        key = (r['mode'], r['labels'], r['split'], r['metric'])
        cells.setdefault(key, {}).setdefault(r['condition'], []).append(
            (r['value'], r['ratio']))
    conds = [
        c for c in (*CONDITIONS, 'simclr_renders')
        if any(c in v for v in cells.values())
    ]
    lines = [
        '| mode | labels | split | metric | ' + ' | '.join(conds) + ' |',
        '|' + ' --- |' * (4 + len(conds))
    ]
    for key in sorted(cells):
        v = cells[key]
        base = np.mean([x for x, _ in v.get('peclr_renders', [])] or [0])
        row = []
        for c in conds:
            if c not in v:
                row.append('-')
                continue
            x = np.array([a for a, _ in v[c]])
            ratio = np.mean([b for _, b in v[c] if b is not None] or [0])
            gain = '' if c == 'peclr_renders' or not base else \
                f', {100 * (base - x.mean()) / base:+.1f} %'
            row.append(
                f'{x.mean():.2f} +- {x.std(ddof=1) if len(x) > 1 else 0:.2f}'
                f' (x{ratio:.3f}{gain}; n={len(x)})')
        lines.append(f'| {key[0]} | {key[1]:g} | {key[2]} | {key[3]} | ' +
                     ' | '.join(row) + ' |')
    return '\n'.join(lines)


def report(args) -> int:
    """Rows and table of every finished run under ``--out``."""
    import glob
    rows = []
    for seed in args.seeds:
        for cond in args.conditions:
            for mode, fractions in (('finetune', args.labels),
                                    ('probe', args.probe_labels)):
                for labels in fractions:
                    done = osp.join(args.out, mode,
                                    f'{cond}_l{labels:g}_s{seed}',
                                    'record.json')
                    if osp.isfile(done):
                        rows += rows_of(cond, seed, labels, mode,
                                        read_json(done, 'a run\'s record'))
    found = len(glob.glob(osp.join(args.out, '*', '*', 'record.json')))
    print(f'real_pool: {len(rows) // 6} of {found} finished runs match the '
          'conditions, seeds and label fractions asked for')
    if args.results:
        atomic_write_json(args.results, rows, indent=1)
    print(table(rows))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    for root, what in ((args.renders, 'renders'), (args.real_test,
                                                   'real photos')):
        if not osp.isfile(osp.join(root, 'evaluation_xyz.json')):
            print(
                f'real_pool: {root} holds no evaluation_xyz.json (the '
                f'{what} in the FreiHAND layout)',
                file=sys.stderr)
            return 2
    given = dict(e.split('=', 1) for e in args.encoders)
    for cond, path in given.items():
        if cond not in PRETRAIN or not osp.isfile(path):
            print(
                f'real_pool: --encoders {cond}={path}: expected a '
                f'condition of {sorted(PRETRAIN)} and an existing '
                'checkpoint',
                file=sys.stderr)
            return 2
    rows = []
    if args.report_only:
        return report(args)
    for seed in args.seeds:
        for cond in args.conditions:
            t = time.time()
            encoder = None if cond == 'random' else given.get(cond) or \
                pretrain(cond, seed if args.pretrain_per_seed else 0, args)
            print(
                f'real_pool: {cond} seed {seed} encoder ready '
                f'({time.time() - t:.0f} s)',
                flush=True)
            runs = [('finetune', f) for f in args.labels] + \
                [('probe', f) for f in args.probe_labels]
            for mode, labels in runs:
                t = time.time()
                rec = downstream(cond, encoder, mode, labels, seed, args)
                rows += rows_of(cond, seed, labels, mode, rec)
                real = rec['splits']['real_0_291']
                ratio = {
                    k: real.get(f'freihand/ratio/{k}', float('nan'))
                    for k in ('PA-EPE', 'EPE-2D-in-box')
                }
                print(
                    f'real_pool: {cond} s{seed} {mode} labels {labels:g}: '
                    f'real PA-EPE {real["freihand/PA-EPE"]:.2f} mm '
                    f'(x{ratio["PA-EPE"]:.3f}), EPE-2D x'
                    f'{ratio["EPE-2D-in-box"]:.3f} '
                    f'({time.time() - t:.0f} s)',
                    flush=True)
                if args.results:
                    atomic_write_json(args.results, rows, indent=1)
    print(table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
