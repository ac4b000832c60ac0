# Copyright (c) peclr_mm authors. All rights reserved.
"""The paper's claim at small scale: PeCLR > SimCLR > no pretraining when
labels are scarce.

    python -m projects.reproduction.reproduce_claim --budget cpu \
        --out work_dirs/reproduce

A budget is a config (``projects/reproduction/configs/reproduce_{NAME}.py``,
or a path)
that names the data size, the pretraining and downstream configs and their
lengths, the label fractions and the seeds; this script only runs it:

1. generate a synthetic FreiHAND set (unlabeled training images, a separate
   evaluation split), unless ``--data`` points at one (real FreiHAND works);
2. pretrain the budget's encoders (``pretrain.configs``: PeCLR and SimCLR,
   and similar-hand pretraining, whose pairs are first mined from the true
   2-D poses or from the pseudo-labels of a 2-D model fine-tuned on the
   labeled fraction only, ``pretrain.similar``) with identical budgets and
   augmentations, checkpoints at ``pretrain.eval_epochs`` (points of one
   schedule of ``pretrain.max_epochs``; a budget may stop early, and a
   later one continue the same schedule);
3. evaluate every encoder and random init on labeled subsets of the
   training annotations, each fraction with several seeds (subset draw and
   head initialisation): the closed-form ridge probe of pooled frozen
   features (``ridge``), a trained head on the frozen encoder (``probe``)
   and full fine-tuning (``finetune``), beside the mean pose of the same
   labeled subset;
4. write ``results.md`` (tables, mean +- std over seeds, and the verdict on
   the claim and on the budget's ``compare`` pairs), ``results.json`` and
   ``pa_epe_vs_labels.png``.

Every run goes through a stock mmengine runner from the project's configs,
on CPU or GPU unchanged (the runner picks the device). Finished runs are
reused, so a killed reproduction picks up where it stopped; a budget with
``work_name`` runs in (and reuses) another budget's folder, e.g. new
encoders beside a finished comparison. ``--state DIR`` keeps what a study
cannot cheaply redo (the evaluated encoders, stripped, an unfinished
schedule's last checkpoint and every run's record) in ``DIR`` as it goes
and restores it first, so the study also outlives its work folder
(``reproduce_state.py``); pretraining on one machine and evaluating on
another works the same way.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Callable, Optional, Tuple

import numpy as np

from projects.reproduction import reproduce_report as report

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The budgets: ``--budget NAME`` is ``BUDGETS/reproduce_NAME.py``.
BUDGETS = osp.join(osp.dirname(osp.abspath(__file__)), 'configs')


def load_budget(budget: str):
    """The budget config: a path, or NAME for
    ``projects/reproduction/configs/reproduce_NAME.py``."""
    from mmengine.config import Config
    path = budget if budget.endswith('.py') else osp.join(
        BUDGETS, f'reproduce_{budget}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'budget {budget!r}: no config {path}')
    return Config.fromfile(path)


def _cfg_path(path: str) -> str:
    return path if osp.isabs(path) else osp.join(ROOT, path)


def _cfg(path: str):
    from mmengine.config import Config
    return Config.fromfile(_cfg_path(path))


def pretrain(kind: str,
             data: str,
             work: str,
             b,
             similar: Optional[Tuple[str, int]] = None,
             keep: Optional[Callable[[], object]] = None) -> bool:
    """Pretrain encoder ``kind`` to the last of the budget's evaluated
    epochs; returns whether every evaluated checkpoint was already there
    (reused, not trained). ``similar``: the mined pairs' file and the k
    nearest to draw from, for a similar-hand config; ``keep``: called
    after every epoch's checkpoint (``--state``)."""
    from mmengine.runner import Runner

    from peclr_mm.utils.config import (name_run, set_data_root, set_input_size,
                                       use_cross_version_views)
    from projects.reproduction.reproduce_state import (KeepStateHook,
                                                       check_resumable)
    from projects.reproduction.schedules import (set_epoch_budget,
                                                 set_similar_hands)
    epochs = eval_epochs(b)
    if all(osp.isfile(osp.join(work, f'epoch_{e}.pth')) for e in epochs):
        return True
    cfg = _cfg(b.pretrain.configs[kind])
    cfg.work_dir = work
    name_run(cfg, work)
    set_data_root(cfg, data)
    set_input_size(cfg, b.input_size)
    set_epoch_budget(
        cfg,
        b.pretrain.max_epochs,
        b.pretrain.warmup_iters,
        keep_every_epoch=len(epochs) > 1,
        stop_epoch=epochs[-1])
    if keep is not None and cfg.default_hooks.checkpoint.interval != 1:
        # a checkpoint after every epoch (the newest kept) for the state
        cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1)
    # the same changes to every method (e.g. the temperature), then this
    # encoder's own (e.g. a switch of its loss)
    cfg.merge_from_dict(b.pretrain.get('cfg_options', {}))
    cfg.merge_from_dict(b.pretrain.get('encoder_options', {}).get(kind, {}))
    cache = b.pretrain.get('cache_mib', 0)
    if similar is not None:
        # each view draws its own version of its own image already
        set_similar_hands(cfg, *similar, cache_mib=cache)
    elif b.pretrain.get('cross_version', False):
        use_cross_version_views(cfg, cache)
    cfg.randomness = dict(seed=0)
    # resume a killed run (or an earlier budget's shorter one) from its
    # last checkpoint
    cfg.resume = True
    check_resumable(work)
    runner = Runner.from_cfg(cfg)
    if keep is not None:
        runner.register_hook(KeepStateHook(keep))
    runner.train()
    return False


def eval_epochs(b) -> list:
    """The pretraining epochs whose checkpoints are evaluated (points of
    one schedule of ``pretrain.max_epochs``): the budget's
    ``pretrain.eval_epochs``, else the last. Training stops at the largest.
    """
    epochs = list(b.pretrain.get('eval_epochs') or [b.pretrain.max_epochs])
    if max(epochs) > b.pretrain.max_epochs or min(epochs) < 1:
        raise ValueError(f'pretrain.eval_epochs {epochs} must lie in 1..'
                         f'{b.pretrain.max_epochs} (pretrain.max_epochs)')
    return sorted(epochs)


def suffix(enc: str, epoch: int, b) -> str:
    """How a run's folder names the checkpoint: nothing for the schedule's
    last epoch (and random init, which has no epoch), else ``_eN``."""
    if enc == 'random' or epoch == b.pretrain.max_epochs:
        return ''
    return f'_e{epoch}'


def run_dir(work: str, mode: str, enc: str, epoch: int, fraction: float,
            seed: int, b) -> str:
    """The folder of one downstream run."""
    return osp.join(work, mode,
                    f'{enc}{suffix(enc, epoch, b)}_f{fraction:g}_s{seed}')


def train_seconds(work: str,
                  up_to_epoch: Optional[int] = None) -> Optional[float]:
    """Training time of a run's schedule as it stands (or of its first
    ``up_to_epoch`` epochs), from its logs: the iterations it covers times
    the median of the logged iteration times (each a mean over the log
    processor's last few iterations, so one pause or a neighbour's burst
    would count several-fold in a sum), each step counted once (a resumed
    run's repeat of a killed one's last steps replaces them). Time lost to
    kills and restarts is not counted. None without logs."""
    import glob
    times = {}
    for path in sorted(
            glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill
                if 'time' in rec and 'step' in rec and 'loss' in rec and (
                        up_to_epoch is None
                        or rec.get('epoch', 0) <= up_to_epoch):
                    times[int(rec['step'])] = float(rec['time'])
    if not times:
        return None
    return max(times) * float(np.median(list(times.values())))


def complete_seeds(cell: list, seeds: int) -> list:
    """The rows of one mode and fraction whose encoder has all ``seeds``
    runs there, in their order: a partial report judges no encoder on
    fewer seeds than the budget's."""
    count = [r['encoder'] for r in cell]
    return [r for r in cell if count.count(r['encoder']) == seeds]


def labeled_count(fraction: float, b) -> int:
    """How many training annotations a labeled fraction holds (the subset
    the dataset draws, ``select_subset``)."""
    from peclr_mm.datasets.freihand3d import select_subset
    return len(select_subset(b.data.num_train, float(fraction)))


def downstream_cfg(encoder_ckpt, mode: str, data: str, work: str, b,
                   fraction: float, seed: int):
    """The config of a probe (``mode='probe'``) or fine-tuning run on a
    labeled subset."""
    from peclr_mm.utils.config import name_run, set_data_root, set_input_size
    from projects.reproduction.schedules import set_iteration_budget
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
    cfg.train_dataloader.batch_size = min(cfg.train_dataloader.batch_size,
                                          labeled_count(fraction, b))
    # iteration-based: a label-scarce run must not be starved of
    # optimisation as well as of labels
    set_iteration_budget(cfg, b[f'{mode}_iters'])
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    return cfg


def downstream(encoder_ckpt, mode: str, data: str, work: str, b,
               fraction: float, seed: int) -> dict:
    """Probe or fine-tune on a labeled subset; return the test metrics."""
    from projects.reproduction.runs import cached_train_test
    cfg = downstream_cfg(encoder_ckpt, mode, data, work, b, fraction, seed)
    n_labeled = labeled_count(fraction, b)
    # the training loss at the start and end of the run: did it learn?
    return cached_train_test(
        cfg, osp.join(work, 'metrics.json'), lambda r: dict(
            r['metrics'],
            **r['losses'],
            n_labeled=n_labeled,
            train_s=r['train_s']))


def pseudo_labels(labeller: str, data: str, out_json: str, b) -> dict:
    """The 2-D joints a fine-tuned run (folder ``labeller``) predicts for
    every training annotation (version 0, the test pipeline), written by
    ``Keypoints2DWriter`` to ``out_json``; returns its metrics (the labels'
    EPE-2D against the truth, which the labeller never saw beyond its
    subset)."""
    from mmengine.runner import Runner

    from peclr_mm.utils.config import name_run
    from peclr_mm.utils.io import atomic_write_json, read_json
    done = f'{out_json}.metrics.json'
    if osp.isfile(out_json) and osp.isfile(done):
        return read_json(done, 'the pseudo-labels\' record')
    cfg = downstream_cfg(None, 'finetune', data,
                         osp.join(labeller, 'pseudo_labels'), b, 1., 0)
    name_run(cfg, cfg.work_dir)
    cfg.load_from = osp.join(labeller, f'iter_{b.finetune_iters}.pth')
    ds = cfg.test_dataloader.dataset
    ds.split = 'training'
    ds.versions = [0]
    cfg.test_evaluator = dict(
        type='Keypoints2DWriter',
        out_file=out_json,
        num_samples=b.data.num_train)
    if osp.isfile(out_json):  # written, its record lost: write afresh
        os.replace(out_json, f'{out_json}.stale')
    t = time.time()
    metrics = {
        k.split('/')[-1]: float(v)
        for k, v in Runner.from_cfg(cfg).test().items()
    }
    metrics['predict_s'] = time.time() - t
    atomic_write_json(done, metrics, indent=1)
    return metrics


def similar_hands(enc: str,
                  spec: dict,
                  ckpts: dict,
                  data: str,
                  work: str,
                  b,
                  run: bool = True) -> Tuple[Optional[str], Optional[dict]]:
    """Mine the pairs of similar-hand encoder ``enc``: from the generator's
    true 2-D poses (``spec.poses='truth'``, the upper bound) or from the
    pseudo-labels of a 2-D model fine-tuned on the labeled fraction only
    (``'pseudo'``: the budget's ``pseudo_labels`` names the encoder it
    starts from, the fraction and seed; the run is that downstream run
    itself, so it is shared with the tables). Returns the mined file and
    what the pairs are worth: their true pose distance (palm lengths, RMS
    per joint) beside random pairs'. With ``run=False`` nothing is mined:
    ``(None, None)`` unless the pairs are there."""
    from peclr_mm.datasets import load_freihand_annotations
    from peclr_mm.datasets.similar_hands import (descriptor_distance,
                                                 load_similar_hands,
                                                 mine_similar_hands,
                                                 pose_descriptor,
                                                 write_similar_hands)
    from peclr_mm.utils.camera import project
    from peclr_mm.utils.io import atomic_write_json, read_json
    k = int(spec.get('k', 8))
    info = dict(poses=spec['poses'], k=k)
    if spec['poses'] == 'truth':
        source, name = 'training ground truth', f'truth_k{k}'
    elif spec['poses'] == 'pseudo':
        pl = b.pseudo_labels
        e = eval_epochs(b)[-1]
        labeller = run_dir(work, 'finetune', pl.encoder, e, pl.fraction,
                           pl.seed, b)
        tag = osp.basename(labeller)
        source, name = f'pseudo-labels {tag}', f'pseudo_{tag}_k{k}'
    else:
        raise ValueError(f'pretrain.similar.{enc}.poses must be \'truth\' '
                         f'or \'pseudo\', got {spec["poses"]!r}')
    path = osp.join(work, 'similar', f'{name}.npz')
    record = f'{path}.json'
    if osp.isfile(record) and osp.isfile(path):
        return path, read_json(record, 'the mining record')
    if not run:
        return None, None
    ann = load_freihand_annotations(data, 'training')
    truth = project(ann['xyz'], ann['K'])
    if spec['poses'] == 'truth':
        uv = truth
    else:
        # the labeller is the table's own run (reused when it exists)
        downstream(ckpts[e][pl.encoder], 'finetune', data, labeller, b,
                   pl.fraction, pl.seed)
        labels = osp.join(work, 'similar', f'pseudo_{tag}.json')
        info.update(
            labeller=osp.relpath(labeller, work),
            **pseudo_labels(labeller, data, labels, b))
        uv = np.asarray(read_json(labels, 'the pseudo-labels'), np.float64)
    t = time.time()
    if not osp.isfile(path):
        write_similar_hands(
            path,
            mine_similar_hands(uv, k),
            poses=uv,
            source=source,
            k=k,
            num_images=len(uv))
    info['mine_s'] = time.time() - t
    mined = load_similar_hands(path)
    true = pose_descriptor(truth)
    rng = np.random.default_rng(0)
    other = (np.arange(len(true)) +
             rng.integers(1, len(true), len(true))) % len(true)
    info.update(
        pair_true_distance=float(
            descriptor_distance(true[:, None], true[mined['index']]).mean()),
        nearest_true_distance=float(
            descriptor_distance(true, true[mined['index'][:, 0]]).mean()),
        random_pair_true_distance=float(
            descriptor_distance(true, true[other]).mean()))
    atomic_write_json(record, info, indent=1)
    return path, info


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


def ridge_rows(ckpts: dict,
               data: str,
               work: str,
               b,
               epoch: int,
               run: bool = True) -> list:
    """The closed-form ridge probe of each encoder's pooled features (the
    checkpoints ``ckpts`` of pretraining epoch ``epoch``), on every fraction
    and seed: L1 error of ``uv / size`` and ``z_rel`` and their ratios to
    the labeled subset's mean (< 1: the frozen features hold pose beyond
    the prior). The penalty is chosen on a held-out part of each labeled
    subset. Each encoder's rows are kept in ``ridge/ENC[_eN].json``, with
    its features' and fits' seconds. ``run=False``: the kept rows only."""
    from peclr_mm.datasets.freihand3d import select_subset
    from peclr_mm.utils.config import set_input_size
    from peclr_mm.utils.io import atomic_write_json, read_json
    from projects.reproduction.probe_features import head_targets
    from projects.reproduction.probes import (build_with_encoder,
                                              pipeline_views, pooled_features,
                                              ridge_probe, select_ridge_lambda)
    done = {
        enc: osp.join(work, 'ridge', f'{enc}{suffix(enc, epoch, b)}.json')
        for enc in ckpts
    }
    rows = {
        enc: read_json(path, 'ridge rows')
        for enc, path in done.items() if osp.isfile(path)
    }
    todo = [enc for enc in ckpts if enc not in rows] if run else []
    if todo:
        cfg = _cfg(b.downstream_config)
        set_input_size(cfg, b.input_size)
        cfg.model.backbone.init_cfg = None
        train = pipeline_views(cfg, data, 'training', b.data.num_train,
                               b.input_size)
        ev = pipeline_views(cfg, data, 'evaluation', b.ridge.num_eval,
                            b.input_size)
        y_train = head_targets(train, b.input_size)
        y_eval = head_targets(ev, b.input_size)
    for enc in todo:
        t = time.time()
        model = build_with_encoder(cfg.model, ckpts[enc])
        f_train, f_eval = pooled_features(model,
                                          train), pooled_features(model, ev)
        rows[enc] = []
        for frac in b.fractions:
            for seed in b.seeds:
                keep = select_subset(len(train), frac, seed)
                y = y_train[keep]
                mean = y.mean(0)
                base = dict(
                    uv_l1=float(np.abs(mean[:42] - y_eval[:, :42]).mean()),
                    zrel_l1=float(np.abs(mean[42:] - y_eval[:, 42:]).mean()))
                lam = select_ridge_lambda(f_train[keep], y, b.ridge.lambdas)
                pred = ridge_probe(f_train[keep], y, f_eval, lam)
                uv = float(np.abs(pred[:, :42] - y_eval[:, :42]).mean())
                z = float(np.abs(pred[:, 42:] - y_eval[:, 42:]).mean())
                rows[enc].append(
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
        for r in rows[enc]:
            r['encoder_s'] = time.time() - t
        atomic_write_json(done[enc], rows[enc], indent=1)
    return [r for enc in ckpts if enc in rows for r in rows[enc]]


def latent_rows(ckpts: dict,
                data: str,
                work: str,
                b,
                epoch: int,
                run: bool = True) -> list:
    """The paper's mechanism measured on each encoder of pretraining epoch
    ``epoch`` (``projects/reproduction/analysis/equivariance.py``, one
    folder per encoder in ``latent/``, kept): how much of a rotation or
    shift of the image the latent fails to follow (equivariance error / the
    error of a latent that stays put: 0 equivariant, 1 invariant), how well
    a ridge probe of the pooled frozen features reads the rotation back
    (degrees, beside chance), how well it reads the hand's own in-plane
    orientation back, pose retrieval, and the hands' own orientation
    spread.
    ``run=False``: the kept analyses only."""
    from peclr_mm.utils.io import read_json
    from projects.reproduction.analysis import equivariance
    lat = b.latent
    rows = []
    for enc, ckpt in ckpts.items():
        out = osp.join(work, 'latent', f'{enc}{suffix(enc, epoch, b)}')
        path = osp.join(out, 'equivariance.json')
        res = read_json(path,
                        'the latent analysis') if osp.isfile(path) else None
        # an analysis kept from before the orientation read-out is redone
        if run and (res is None
                    or 'orientation_readout' not in res['encoders'][enc]):
            equivariance.main([
                '--data', data, '--encoder',
                enc if ckpt is None else f'{enc}={ckpt}', '--config',
                _cfg_path(b.pretrain.configs[next(iter(b.pretrain.configs))]),
                '--size',
                str(b.input_size), '--num',
                str(lat.num), '--gallery',
                str(lat.gallery), '--out', out
            ])
            res = read_json(path, 'the latent analysis')
        if res is None:  # not run yet, and run=False
            continue
        r = res['encoders'][enc]
        ratio = {}
        for name, rot in (('rotation', True), ('shift', False)):
            m = equivariance.latent_means(r['latent'], rot)
            ratio[name] = m['error'] / m['should']
        orient = r.get('orientation_readout', {})
        rows.append(
            dict(
                mode='latent',
                encoder=enc,
                fraction=None,
                rotation_error_ratio=ratio['rotation'],
                shift_error_ratio=ratio['shift'],
                readout_deg=r['rotation_readout']['error_deg'],
                readout_chance_deg=r['rotation_readout']['chance_deg'],
                orientation_readout_deg=orient.get('error_deg'),
                orientation_chance_deg=orient.get('chance_deg'),
                retrieval_mm=r['retrieval_mm']['root_relative'],
                retrieval_chance_mm=res['retrieval_references_mm']['chance']
                ['root_relative'],
                orientation_std_deg=res['orientation']['circular_std_deg'],
                seconds=res['seconds']))
    return rows


def _state_keeper(state: Optional[str], work: str, b, restore: bool):
    """With ``--state``: restore ``state`` into ``work`` (unless
    ``restore`` is False: a report leaves the work folder as it is) and
    return what brings ``state`` up to date again; without, a no-op."""
    from projects.reproduction import reproduce_state
    if state is None:
        return None
    if restore:
        n = reproduce_state.restore_state(state, work)
        print(f'state {state}: {n} files restored into {work}', flush=True)

    def keep():
        reproduce_state.save_state(work, state, list(b.pretrain.configs),
                                   eval_epochs(b), b.pretrain.max_epochs)

    return keep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--budget',
        default='cpu',
        help='NAME of projects/reproduction/configs/reproduce_NAME.py '
        '(smoke, cpu, '
        'gpu) or a budget config path')
    parser.add_argument('--out', default='work_dirs/reproduce')
    parser.add_argument(
        '--data', help='an existing FreiHAND-layout root (default: generate)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s own choice)')
    parser.add_argument(
        '--state',
        help='a folder that keeps the study\'s state (evaluated encoders, '
        'an unfinished schedule\'s checkpoint, run records; '
        'projects/reproduction/reproduce_state.py): restored into the work '
        'folder first where it lacks a file, updated after every '
        'pretraining epoch, stage and run, so the study outlives its work '
        'folder; with --report-only only updated (default: the budget\'s '
        '`state`, if it names one)')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='train and evaluate nothing: write the report of the runs '
        'already finished and list the ones still missing (a study in '
        'progress, read while it runs or between its stages)')
    args = parser.parse_args(argv)
    run = not args.report_only
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
    # the report's folder; the runs' is another budget's with work_name
    out = osp.join(args.out, name)
    work = osp.join(args.out, b.get('work_name', name))
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    timing = {}
    epochs = eval_epochs(b)
    encoders = list(b.pretrain.configs)
    # the budget's own state folder (relative to the repository) unless
    # --state names one
    state = args.state or (_cfg_path(b.state) if b.get('state') else None)
    data = args.data
    if data is None:
        data = osp.join(work, 'data')
        made = osp.isfile(osp.join(data, 'evaluation_xyz.json'))
        if not run and not made:
            raise FileNotFoundError(
                f'--report-only: no data at {data} (evaluation_xyz.json): '
                f'budget {args.budget!r} has not started in {args.out}')
        if not made:
            from peclr_synthetic import generate_freihand
            generate_freihand(
                data,
                b.data.num_train,
                b.data.num_eval,
                versions=b.data.versions,
                seed=b.data.seed,
                workers=2)
            timing['generate_s'] = time.time() - t0
    if state is not None:
        # the records kept were measured on these data: checked before any
        # is restored
        from projects.reproduction.reproduce_state import check_data
        check_data(state, data)
    keeper = _state_keeper(state, work, b, restore=run)

    def keep():
        if keeper is not None:
            keeper()

    last = epochs[-1]
    similar = b.pretrain.get('similar', {})
    ckpts = {e: dict(random=None) if e == last else {} for e in epochs}
    mining = {}
    # what --report-only finds not yet run
    missing = []
    for kind in encoders:
        pairs = None
        if kind in similar:
            t = time.time()
            path, info = similar_hands(kind, similar[kind], ckpts, data, work,
                                       b, run)
            if path is None:
                missing.append(f'similar/ pairs of {kind}')
            else:
                mining[kind] = info
                pairs = (path, info['k'])
                timing[f'mine_{kind}_s'] = time.time() - t
                keep()  # the pairs (and a labeller's record) first
        t = time.time()
        pre = osp.join(work, f'pretrain_{kind}')
        reused = pretrain(kind, data, pre, b, pairs, keeper) if run else True
        keep()
        for e in epochs:
            ckpt = osp.join(pre, f'epoch_{e}.pth')
            if osp.isfile(ckpt):
                ckpts[e][kind] = ckpt
            else:  # only without run: and every run of that checkpoint
                missing.append(f'pretrain_{kind}/epoch_{e}.pth and its runs')
        # the schedule's iterations as logged (the same whether the run was
        # trained now, resumed or reused); this call's own time beside it
        timing[f'pretrain_{kind}_s'] = train_seconds(pre, last) or 0.
        if not reused:
            timing[f'pretrain_{kind}_this_call_s'] = time.time() - t
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
    # each stage's time is its runs' own record (the same however often the
    # study was killed and resumed); this call's wall time beside it
    for e in reversed(epochs):
        tag = suffix('', e, b)
        for stage, fn in (('ridge', ridge_rows), ('latent', latent_rows)):
            if stage == 'latent' and not b.get('latent'):
                continue
            t = time.time()
            got = fn(ckpts[e], data, work, b, e, run)
            keep()
            rows += [
                dict(r, epoch=e if r['encoder'] != 'random' else None)
                for r in got
            ]
            spent = {
                r['encoder']: r.get('encoder_s', r.get('seconds'))
                for r in got
            }
            missing += [
                f'{stage}/{enc}{suffix(enc, e, b)}' for enc in ckpts[e]
                if enc not in spent
            ]
            if spent:  # a stage with no finished run has no time yet
                timing[f'{stage}{tag}_s'] = (None if None in spent.values()
                                             else sum(spent.values()))
            timing[f'{stage}{tag}_this_call_s'] = time.time() - t
        for mode in b.get('modes', ['probe', 'finetune']):
            t_mode = time.time()
            spent = []
            for frac in b.fractions:
                cell = []
                for seed in b.seeds:
                    for enc in ckpts[e]:
                        t = time.time()
                        d = run_dir(work, mode, enc, e, frac, seed, b)
                        if not run and not osp.isfile(
                                osp.join(d, 'metrics.json')):
                            missing.append(f'{mode}/{osp.basename(d)}')
                            continue
                        m = downstream(ckpts[e][enc], mode, data, d, b, frac,
                                       seed)
                        keep()
                        spent.append(m.get('train_s'))
                        cell.append(
                            dict(
                                m,
                                mode=mode,
                                fraction=frac,
                                seed=seed,
                                encoder=enc,
                                epoch=None if enc == 'random' else e))
                        print(
                            f'{mode} {enc}{suffix(enc, e, b)} fraction '
                            f'{frac} seed {seed}: PA-EPE '
                            f'{m["freihand/PA-EPE"]:.2f} mm, EPE-2D '
                            f'{m["freihand/EPE-2D"]:.2f} px '
                            f'({time.time() - t:.0f} s)',
                            flush=True)
                # an encoder with a seed still missing (--report-only) is
                # left out of this cell, not judged on fewer seeds
                rows += complete_seeds(cell, len(b.seeds))
            if spent:
                timing[f'{mode}{tag}_s'] = (None
                                            if None in spent else sum(spent))
            timing[f'{mode}{tag}_this_call_s'] = time.time() - t_mode
    timing['total_this_call_s'] = time.time() - t0
    # the tables and the verdicts of the longest pretraining
    final = [r for r in rows if r.get('epoch') in (None, last)]
    compare = [tuple(c) for c in b.get('compare', [])]
    cmd = 'python -m projects.reproduction.reproduce_claim ' + ' '.join(
        argv if argv is not None else sys.argv[1:])
    atomic_write_json(
        osp.join(out, 'results.json'),
        dict(
            budget=b.to_dict(),
            command=cmd,
            rows=rows,
            timing=timing,
            missing=missing,
            mining=mining,
            verdict=report.verdict(final),
            versus=[
                report.versus(final, a, c, tuple(b.fractions))
                for a, c in compare
            ]),
        indent=1)
    print(
        report.summarise(
            final,
            out,
            name,
            cmd,
            b,
            timing,
            encoders=encoders,
            compare=compare,
            mining=mining,
            missing=missing))
    if len(epochs) > 1:
        print(
            report.scaling(
                rows,
                out,
                name,
                epochs,
                b.fractions,
                timing=timing,
                missing=missing))
    print(f'this call {timing["total_this_call_s"] / 60:.1f} min; '
          f'{len(missing)} runs missing; results in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
