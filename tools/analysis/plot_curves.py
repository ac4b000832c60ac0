# Copyright (c) peclr_mm authors. All rights reserved.
"""Plot training losses and validation scores from mmengine's json logs.

    python tools/analysis/plot_curves.py WORK_DIR_OR_JSON [...] \
        --out curves.png [--keys loss_uv loss_zrel freihand/EPE-2D ...] \
        [--legend run-a run-b] [--title TITLE]

mmpose's ``analyze_logs.py plot_curve`` for this project's runs: each
argument is an mmengine json log (``WORK_DIR/TIMESTAMP/vis_data/
TIMESTAMP.json`` or ``scalars.json``) or a work directory, whose json logs
are all read (a resumed run continues in a new timestamp folder). One panel
per key, against the training iteration; validation scores logged per epoch
are placed at the last iteration of that epoch. Where the validation
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


def find_logs(path: str) -> List[str]:
    """The json logs of a work directory (or the file itself)."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path}: no such log file or work directory')
    logs = sorted(
        p for p in glob.glob(osp.join(path, '*', 'vis_data', '*.json'))
        if osp.basename(p) != 'scalars.json')
    if not logs:  # older layout: the json beside the text log
        logs = sorted(glob.glob(osp.join(path, '*', '*.json')))
    if not logs:
        raise FileNotFoundError(f'{path}: no mmengine json log found (looked '
                                'for */vis_data/*.json)')
    return logs


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
    # validation logged by epoch: place it at that epoch's last iteration
    epoch_end = {}
    for rec in train:
        if 'epoch' in rec:
            epoch_end[rec['epoch']] = max(
                epoch_end.get(rec['epoch'], 0), rec['step'])
    curves = defaultdict(list)
    for rec in train:
        for k, v in rec.items():
            if isinstance(v,
                          (int, float)) and k not in ('step', 'iter', 'epoch'):
                curves[k].append((rec['step'], v))
    for rec in val:
        step = rec.get('step', 0)
        if epoch_end and step in epoch_end:
            step = epoch_end[step]
        for k, v in rec.items():
            if isinstance(v, (int, float)) and k != 'step':
                curves[k].append((step, v))
    return {k: sorted(v) for k, v in curves.items()}


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
    try:
        runs = {n: read_log(find_logs(p)) for n, p in zip(names, args.logs)}
        drawn = plot(runs, args.keys, args.out, args.title)
    except (FileNotFoundError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    print(f'{", ".join(drawn)} of {len(runs)} run(s) -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
