# Copyright (c) peclr_mm authors. All rights reserved.
"""The paper's claim at small scale: PeCLR > SimCLR > no pretraining when
labels are scarce.

    python tools/benchmarks/reproduce_claim.py --budget cpu \
        --out work_dirs/reproduce

A budget is a config (``configs/benchmarks/reproduce_{NAME}.py``, or a path)
that names the data size, the pretraining and downstream configs and their
lengths, the label fractions and the seeds; this script only runs it:

1. generate a synthetic FreiHAND set (unlabeled training images, a separate
   evaluation split), unless ``--data`` points at one (real FreiHAND works);
2. pretrain PeCLR and SimCLR with identical budgets and augmentations;
3. evaluate three encoders (random init, SimCLR, PeCLR) three ways on
   labeled subsets of the training annotations, each fraction with several
   seeds (subset draw and head initialisation): the closed-form ridge probe
   of pooled frozen features (``ridge``), a trained head on the frozen
   encoder (``probe``) and full fine-tuning (``finetune``), beside the mean
   pose of the same labeled subset;
4. write ``results.md`` (tables, mean +- std over seeds, and the verdict on
   the claim), ``results.json`` and ``pa_epe_vs_labels.png``.

Every run goes through a stock mmengine runner from the project's configs,
on CPU or GPU unchanged (the runner picks the device). Finished runs are
reused, so a killed reproduction picks up where it stopped.
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
from tools.benchmarks import reproduce_report as report  # noqa: E402


def load_budget(budget: str):
    """The budget config: a path, or NAME for
    ``configs/benchmarks/reproduce_NAME.py``."""
    from mmengine.config import Config
    path = budget if budget.endswith('.py') else osp.join(
        ROOT, 'configs', 'benchmarks', f'reproduce_{budget}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'budget {budget!r}: no config {path}')
    return Config.fromfile(path)


def _cfg(path: str):
    from mmengine.config import Config
    return Config.fromfile(path if osp.isabs(path) else osp.join(ROOT, path))


def pretrain(kind: str, data: str, work: str, b) -> Tuple[str, bool]:
    """PeCLR or SimCLR pretraining; returns the last checkpoint and whether
    it was already there (reused, not trained)."""
    from mmengine.runner import Runner

    from peclr_mm.utils.config import (name_run, set_data_root,
                                       set_epoch_budget, set_input_size,
                                       use_cross_version_views)
    epochs = b.pretrain.max_epochs
    ckpt = osp.join(work, f'epoch_{epochs}.pth')
    if all(
            osp.isfile(osp.join(work, f'epoch_{e}.pth'))
            for e in eval_epochs(b)):
        return ckpt, True
    cfg = _cfg(b.pretrain.configs[kind])
    cfg.work_dir = work
    name_run(cfg, work)
    set_data_root(cfg, data)
    set_input_size(cfg, b.input_size)
    set_epoch_budget(
        cfg,
        epochs,
        b.pretrain.warmup_iters,
        keep_every_epoch=len(eval_epochs(b)) > 1)
    # the same changes to both methods (e.g. the temperature)
    cfg.merge_from_dict(b.pretrain.get('cfg_options', {}))
    if b.pretrain.get('cross_version', False):
        use_cross_version_views(cfg, b.pretrain.get('cache_mib', 0))
    cfg.randomness = dict(seed=0)
    # resume a killed run from its last checkpoint
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    return ckpt, False


def eval_epochs(b) -> list:
    """The pretraining epochs whose checkpoints are evaluated (points of
    one schedule): the budget's ``pretrain.eval_epochs``, else the last."""
    epochs = list(b.pretrain.get('eval_epochs') or [b.pretrain.max_epochs])
    if max(epochs) != b.pretrain.max_epochs or min(epochs) < 1:
        raise ValueError(f'pretrain.eval_epochs {epochs} must lie in 1..'
                         f'{b.pretrain.max_epochs} and end at max_epochs')
    return sorted(epochs)


def downstream(encoder_ckpt, mode: str, data: str, work: str, b,
               fraction: float, seed: int) -> dict:
    """Probe or fine-tune on a labeled subset; return the test metrics."""
    from peclr_mm.engine.runs import cached_train_test
    from peclr_mm.utils.config import (name_run, set_data_root, set_input_size,
                                       set_iteration_budget)
    cfg = _cfg(b.downstream_config)
    cfg.work_dir = work
    name_run(cfg, work)
    set_input_size(cfg, b.input_size)
    cfg.model.backbone.init_cfg = None if encoder_ckpt is None else dict(
        type='Pretrained', checkpoint=encoder_ckpt, prefix='backbone.')
    if mode == 'probe':
        cfg.model.backbone.frozen_stages = cfg.model.backbone.get(
            'num_stages', 4)
        cfg.model.backbone.norm_eval = True
    set_data_root(cfg, data)
    train = cfg.train_dataloader.dataset
    train.subset = fraction
    train.subset_seed = seed
    # the mean pose of the labeled subset this run trains on
    cfg.test_evaluator = dict(
        type='FreiHand3DMetric',
        mean_pose=dict(data_root=data, subset=fraction, subset_seed=seed))
    train.versions = [0]
    n_labeled = max(1, int(round(fraction * b.data.num_train)))
    cfg.train_dataloader.batch_size = min(cfg.train_dataloader.batch_size,
                                          n_labeled)
    # iteration-based: a label-scarce run must not be starved of
    # optimisation as well as of labels
    set_iteration_budget(cfg, b[f'{mode}_iters'])
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    # the training loss at the start and end of the run: did it learn?
    return cached_train_test(
        cfg, osp.join(work, 'metrics.json'), lambda r: dict(
            r['metrics'],
            **r['losses'],
            n_labeled=n_labeled,
            train_s=r['train_s']))


def mean_pose_baseline(data: str, ev: dict, fraction: float,
                       seed: int) -> dict:
    """Scores of the mean pose of the labeled subset (docs/design.md section
    4c), named as the downstream runs' metric names them."""
    from peclr_mm.evaluation import load_mean_pose, mean_pose_scores
    mean = load_mean_pose(data, subset=fraction, subset_seed=seed)
    scores = mean_pose_scores(mean, ev['xyz'], ev['K'])
    return dict({
        f'freihand/{k}': v
        for k, v in scores.items()
    },
                n_labeled=mean.num)


def ridge_rows(ckpts: dict, data: str, out: str, b, tag: str = '') -> list:
    """The closed-form ridge probe of each encoder's pooled features, on
    every fraction and seed: L1 error of ``uv / size`` and ``z_rel`` and
    their ratios to the labeled subset's mean (< 1: the frozen features
    hold pose beyond the prior). The penalty is chosen on a held-out part
    of each labeled subset."""
    from peclr_mm.datasets.freihand3d import select_subset
    from peclr_mm.evaluation.probes import (build_with_encoder, head_targets,
                                            pipeline_views, pooled_features,
                                            ridge_probe, select_ridge_lambda)
    from peclr_mm.utils.config import set_input_size
    from peclr_mm.utils.io import atomic_write_json
    done = osp.join(out, 'ridge', f'rows{tag}.json')
    if osp.isfile(done):
        with open(done) as f:
            return json.load(f)
    cfg = _cfg(b.downstream_config)
    set_input_size(cfg, b.input_size)
    cfg.model.backbone.init_cfg = None

    train = pipeline_views(cfg, data, 'training', b.data.num_train,
                           b.input_size)
    ev = pipeline_views(cfg, data, 'evaluation', b.ridge.num_eval,
                        b.input_size)
    y_train = head_targets(train, b.input_size)
    y_eval = head_targets(ev, b.input_size)
    feats = {}
    for enc in ckpts:
        model = build_with_encoder(cfg.model, ckpts[enc])
        feats[enc] = (pooled_features(model,
                                      train), pooled_features(model, ev))
    rows = []
    for frac in b.fractions:
        for seed in b.seeds:
            keep = select_subset(len(train), frac, seed)
            y = y_train[keep]
            mean = y.mean(0)
            base = dict(
                uv_l1=float(np.abs(mean[:42] - y_eval[:, :42]).mean()),
                zrel_l1=float(np.abs(mean[42:] - y_eval[:, 42:]).mean()))
            for enc in ckpts:
                f_train, f_eval = feats[enc]
                lam = select_ridge_lambda(f_train[keep], y, b.ridge.lambdas)
                pred = ridge_probe(f_train[keep], y, f_eval, lam)
                uv = float(np.abs(pred[:, :42] - y_eval[:, :42]).mean())
                z = float(np.abs(pred[:, 42:] - y_eval[:, 42:]).mean())
                rows.append(
                    dict(
                        mode='ridge',
                        encoder=enc,
                        fraction=frac,
                        seed=seed,
                        n_labeled=len(keep),
                        lam=lam,
                        uv_l1=uv,
                        zrel_l1=z,
                        uv_ratio=uv / base['uv_l1'],
                        zrel_ratio=z / base['zrel_l1']))
    atomic_write_json(done, rows, indent=1)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--budget',
        default='cpu',
        help='NAME of configs/benchmarks/reproduce_NAME.py (smoke, cpu, '
        'gpu) or a budget config path')
    parser.add_argument('--out', default='work_dirs/reproduce')
    parser.add_argument(
        '--data', help='an existing FreiHAND-layout root (default: generate)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s own choice)')
    args = parser.parse_args(argv)
    import torch
    from mmengine.registry import init_default_scope

    import peclr_mm  # noqa: F401
    from peclr_mm.datasets import load_freihand_annotations
    from peclr_mm.utils.io import atomic_write_json
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmpose')
    b = load_budget(args.budget)
    name = osp.splitext(osp.basename(args.budget))[0].replace('reproduce_', '')
    out = osp.join(args.out, name)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    timing = {}
    data = args.data
    if data is None:
        data = osp.join(out, 'data')
        if not osp.isfile(osp.join(data, 'evaluation_xyz.json')):
            from peclr_synthetic import generate_freihand
            generate_freihand(
                data,
                b.data.num_train,
                b.data.num_eval,
                versions=b.data.versions,
                seed=b.data.seed,
                workers=2)
            timing['generate_s'] = time.time() - t0
    epochs = eval_epochs(b)
    last = epochs[-1]
    ckpts = {e: dict(random=None) if e == last else {} for e in epochs}
    for kind in ('peclr', 'simclr'):
        t = time.time()
        work = osp.join(out, f'pretrain_{kind}')
        _, reused = pretrain(kind, data, work, b)
        for e in epochs:
            ckpts[e][kind] = osp.join(work, f'epoch_{e}.pth')
        # a finished checkpoint is reused: say so rather than report 0 min
        tag = ' (reused)' if reused else ''
        timing[f'pretrain_{kind}{tag}_s'] = time.time() - t
    ev = load_freihand_annotations(data, 'evaluation')
    rows = []
    for frac in b.fractions:
        for seed in b.seeds:
            rows.append(
                dict(
                    mean_pose_baseline(data, ev, frac, seed),
                    mode='baseline',
                    fraction=frac,
                    seed=seed,
                    encoder='mean pose'))
    # the longest pretraining first (random init with it), then the earlier
    # checkpoints of the same schedules; each row says its epoch
    for e in reversed(epochs):
        suffix = '' if e == last else f'_e{e}'
        t = time.time()
        rows += [
            dict(r, epoch=e if r['encoder'] != 'random' else None)
            for r in ridge_rows(ckpts[e], data, out, b, suffix)
        ]
        timing[f'ridge{suffix}_s'] = time.time() - t
        for mode in ('probe', 'finetune'):
            t_mode = time.time()
            for frac in b.fractions:
                for seed in b.seeds:
                    for enc in ckpts[e]:
                        t = time.time()
                        work = osp.join(out, mode,
                                        f'{enc}{suffix}_f{frac:g}_s{seed}')
                        m = downstream(ckpts[e][enc], mode, data, work, b,
                                       frac, seed)
                        rows.append(
                            dict(
                                m,
                                mode=mode,
                                fraction=frac,
                                seed=seed,
                                encoder=enc,
                                epoch=None if enc == 'random' else e))
                        print(
                            f'{mode} {enc}{suffix} fraction {frac} seed '
                            f'{seed}: PA-EPE {m["freihand/PA-EPE"]:.2f} mm, '
                            f'EPE-2D {m["freihand/EPE-2D"]:.2f} px '
                            f'({time.time() - t:.0f} s)',
                            flush=True)
            timing[f'{mode}{suffix}_s'] = time.time() - t_mode
    timing['total_s'] = time.time() - t0
    # the tables and the verdict of the longest pretraining
    final = [r for r in rows if r.get('epoch') in (None, last)]
    cmd = 'python tools/benchmarks/reproduce_claim.py ' + ' '.join(
        argv if argv is not None else sys.argv[1:])
    atomic_write_json(
        osp.join(out, 'results.json'),
        dict(
            budget=b.to_dict(),
            command=cmd,
            rows=rows,
            timing=timing,
            verdict=report.verdict(final)),
        indent=1)
    print(report.summarise(final, out, name, cmd, b, timing))
    if len(epochs) > 1:
        print(report.scaling(rows, out, name, epochs, b.fractions))
    print(f'total {timing["total_s"] / 60:.1f} min; results in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
