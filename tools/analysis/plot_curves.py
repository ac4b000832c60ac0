# Copyright (c) peclr_mm authors. All rights reserved.
"""Plot training losses and validation scores from mmengine's json logs.

    python tools/analysis/plot_curves.py WORK_DIR_OR_JSON [...] \
        --out curves.png [--keys loss_uv loss_zrel freihand/EPE-2D ...] \
        [--legend run-a run-b] [--title TITLE]

mmpose's ``analyze_logs.py plot_curve`` for this project's runs: each
argument is an mmengine json log (``WORK_DIR/TIMESTAMP/vis_data/
TIMESTAMP.json`` or ``scalars.json``) or a folder. A work directory's json
logs are all read as one run (a resumed run continues in a new timestamp
folder); a folder of work directories (``work_dirs/demo`` with
``pretrain``, ``finetune`` and ``test``) gives one run per work directory
that trained, named by its sub-folder (runs that only tested, one score
without an iteration, are left out). One panel per key, against the
training iteration; validation scores logged per epoch are placed at the
last iteration of that epoch, test scores (no epoch) at the run's last
iteration. Where the validation
records hold the metric's mean-pose reference (``FreiHand3DMetric(
mean_pose=...)`` logs ``freihand/mean-pose/KEY``), the panel of ``KEY``
draws it as a dashed line: a model under that line has learned more than
the average hand.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List

DEFAULT_KEYS = ('loss', 'loss_uv', 'loss_zrel', 'loss_zroot', 'loss_heatmap',
                'freihand/EPE-2D', 'freihand/RR-EPE', 'freihand/PA-EPE')


def _run_logs(work_dir: str) -> List[str]:
    """The json logs of one work directory: each timestamp folder's
    ``vis_data/TIMESTAMP.json`` (training and validation) and
    ``TIMESTAMP.json`` (a test run's scores)."""
    logs = []
    for stamp in sorted(glob.glob(osp.join(work_dir, '*', ''))):
        name = osp.basename(osp.dirname(stamp))
        logs += [
            p for p in (osp.join(stamp, 'vis_data', f'{name}.json'),
                        osp.join(stamp, f'{name}.json')) if osp.isfile(p)
        ]
    return logs


def find_runs(path: str) -> Dict[str, List[str]]:
    """``name -> json logs`` of the runs at ``path``: a log file, a work
    directory (one run, named ``''``) or a folder holding work directories
    (one run per sub-folder, named by its path under ``path``)."""
    if osp.isfile(path):
        return {'': [path]}
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path}: no such log file or work directory')
    runs = {}
    for vis in sorted(
            glob.glob(osp.join(path, '**', 'vis_data'), recursive=True)):
        work_dir = osp.dirname(osp.dirname(vis))
        name = osp.relpath(work_dir, path)
        if name not in runs:
            logs = _run_logs(work_dir)
            if logs:
                runs[name] = logs
    if not runs:  # older layout: the json beside the text log
        logs = sorted(glob.glob(osp.join(path, '*', '*.json')))
        if logs:
            runs[''] = logs
    if not runs:
        raise FileNotFoundError(f'{path}: no mmengine json log found (looked '
                                'for */vis_data/*.json)')
    return {('' if n == '.' else n): logs for n, logs in runs.items()}


def find_logs(path: str) -> List[str]:
    """The json logs of a work directory (or the file itself), all runs
    under it together."""
    return [log for logs in find_runs(path).values() for log in logs]


def read_log(paths: List[str]) -> Dict[str, List[tuple]]:
    """``key -> [(iteration, value), ...]`` for training and validation
    records of one run (several files: a resumed run)."""
    train, val = [], []
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f'{path}:{n}: not a json record ({exc})')
                if 'lr' in rec or any(k.startswith('loss') for k in rec):
                    train.append(rec)
                else:
                    val.append(rec)
    # validation logged by epoch: place it at that epoch's last iteration;
    # a test's scores (no step) at the run's last iteration
    epoch_end = {}
    for rec in train:
        if 'epoch' in rec:
            epoch_end[rec['epoch']] = max(
                epoch_end.get(rec['epoch'], 0), rec['step'])
    last = max((rec['step'] for rec in train if 'step' in rec), default=0)
    curves = defaultdict(list)
    for rec in train:
        for k, v in rec.items():
            if isinstance(v,
                          (int, float)) and k not in ('step', 'iter', 'epoch'):
                curves[k].append((rec['step'], v))
    for rec in val:
        step = rec.get('step', last)
        if 'step' in rec and epoch_end and step in epoch_end:
            step = epoch_end[step]
        for k, v in rec.items():
            if isinstance(v, (int, float)) and k != 'step':
                curves[k].append((step, v))
    return {k: sorted(v) for k, v in curves.items()}


def _trained(curves: Dict[str, List[tuple]]) -> bool:
    """Whether a run's curves hold a training record (a loss or a learning
    rate), not only test scores."""
    return any(k == 'lr' or k.startswith('loss') for k in curves)


def plot(runs: Dict[str, Dict[str, List[tuple]]],
         keys: List[str],
         out: str,
         title: str = None) -> List[str]:
    """Draw one panel per key present in any run; returns the keys drawn."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = [k for k in keys if any(k in c for c in runs.values())]
    if not keys:
        raise ValueError(
            'none of the keys is in the logs; keys found: ' +
            ', '.join(sorted({k
                              for c in runs.values()
                              for k in c})))
    cols = min(4, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for name, curves in runs.items():
            if key not in curves:
                continue
            xs, ys = zip(*curves[key])
            marker = 'o' if len(xs) < 30 else None
            ax.plot(xs, ys, marker=marker, label=name)
            ref = curves.get(key.replace('freihand/', 'freihand/mean-pose/'))
            if ref and key.startswith('freihand/'):
                ax.axhline(
                    ref[-1][1],
                    ls='--',
                    color='grey',
                    label=f'mean pose ({name})'
                    if len(runs) > 1 else 'mean pose')
        ax.set_title(key, fontsize=9)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return keys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('logs', nargs='+', help='json logs or work dirs')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--keys', nargs='+', default=list(DEFAULT_KEYS))
    parser.add_argument('--legend', nargs='+')
    parser.add_argument('--title')
    args = parser.parse_args(argv)
    if args.legend and len(args.legend) != len(args.logs):
        parser.error(f'{len(args.legend)} legend entries for '
                     f'{len(args.logs)} logs')
    names = args.legend or [osp.basename(osp.normpath(p)) for p in args.logs]
    runs, skipped = {}, []
    try:
        for name, path in zip(names, args.logs):
            found = {
                sub: read_log(logs)
                for sub, logs in find_runs(path).items()
            }
            trained = {
                sub: curves
                for sub, curves in found.items() if _trained(curves)
            }
            skipped += [
                osp.join(name, sub) for sub in found if sub not in trained
            ] if trained else []
            for sub, curves in (trained or found).items():
                if not sub:  # the argument is the run
                    runs[name] = curves
                elif len(args.logs) == 1 and not args.legend:
                    runs[sub] = curves
                else:
                    runs[osp.join(name, sub)] = curves
        drawn = plot(runs, args.keys, args.out, args.title)
    except (FileNotFoundError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    if skipped:
        print(f'left out {", ".join(skipped)}: test scores only, no curve')
    print(f'{", ".join(drawn)} of {len(runs)} run(s) '
          f'({", ".join(runs)}) -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
