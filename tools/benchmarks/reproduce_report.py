# Copyright (c) peclr_mm authors. All rights reserved.
"""The report of ``tools/benchmarks/reproduce_claim.py``: the table of every
encoder, mode and labelled fraction beside the mean pose, the verdict on
the paper's claim, and the PA-EPE-vs-labels figure."""
import os.path as osp

import numpy as np

ENCODERS = ('random', 'simclr', 'peclr')
MODES = ('baseline', 'ridge', 'probe', 'finetune')

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


def _group(rows: list) -> dict:
    table = {}
    for r in rows:
        table.setdefault((r['mode'], r['fraction'], r['encoder']),
                         []).append(r)
    return table


def verdict(rows: list, fractions=(0.01, 0.05)) -> list:
    """The claim checked cell by cell: for each mode (probe, fine-tune),
    scarce-label fraction and metric (PA-EPE, EPE-2D), does PeCLR < SimCLR <
    random hold with each gap larger than the seeds' spread (the larger of
    the two standard deviations), and is PeCLR's PA-EPE at least 10 % below
    random's? Returns one dict per cell."""
    table = _group(rows)
    out = []
    for mode in ('probe', 'finetune'):
        for frac in fractions:
            if (mode, frac, 'peclr') not in table:
                continue
            for metric in ('PA-EPE', 'EPE-2D'):
                v = {
                    e:
                    np.array([
                        r[f'freihand/{metric}'] for r in table[(mode, frac, e)]
                    ])
                    for e in ENCODERS
                }
                gaps = []
                for better, worse in (('peclr', 'simclr'), ('simclr',
                                                            'random')):
                    gap = v[worse].mean() - v[better].mean()
                    spread = max(v[worse].std(), v[better].std())
                    gaps.append((gap, spread))
                cell = dict(
                    mode=mode,
                    fraction=frac,
                    metric=metric,
                    means={e: float(v[e].mean())
                           for e in ENCODERS},
                    gaps=[(float(g), float(sp)) for g, sp in gaps],
                    ordered=all(g > sp for g, sp in gaps),
                    gain_vs_random=float(1 - v['peclr'].mean() /
                                         v['random'].mean()))
                out.append(cell)
    return out


def summarise(rows: list, out: str, budget: str, cmd: str, b,
              timing: dict) -> str:
    """Write ``results.md`` and ``pa_epe_vs_labels.png``; return the text."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    table = _group(rows)
    order = {e: i for i, e in enumerate(('mean pose', ) + ENCODERS)}

    def keyed(mode_filter):
        return sorted(
            ((k, rs) for k, rs in table.items() if k[0] in mode_filter),
            key=lambda kv: (MODES.index(kv[0][0]), kv[0][1], order[kv[0][2]]))

    lines = [
        f'# PeCLR vs SimCLR vs random init, budget `{budget}`', '',
        f'Command: `{cmd}`', '',
        f'Settings: {b.data.num_train} x {b.data.versions} synthetic '
        f'training images (pretraining uses them all, unlabeled), '
        f'{b.data.num_eval} evaluation images, {b.input_size} px; '
        f'pretraining `{b.pretrain.configs.peclr}` and '
        f'`{b.pretrain.configs.simclr}`, {b.pretrain.max_epochs} epochs '
        f'each, changed by `{b.pretrain.get("cfg_options", {})}`; '
        f'downstream `{b.downstream_config}`: probe (frozen encoder, '
        f'trained head) {b.probe_iters} and fine-tuning {b.finetune_iters} '
        'iterations on labeled subsets of the training annotations; mean '
        '± std over seeds (subset draw and head initialisation). '
        "`mean pose` ignores the image: the labeled subset's mean pose "
        '(docs/design.md section 4c).', '',
        'Errors in mm except EPE-2D (image pixels); RR-EPE is root (wrist) '
        'relative; AUC over 0-50 mm. Wall time: ' +
        ', '.join(f'{k[:-2]} {v / 60:.1f} min'
                  for k, v in timing.items()), '', '## Probe and fine-tuning',
        '', '| mode | labels | encoder | seeds | ' +
        ' | '.join(c[0] for c in COLUMNS) + ' |',
        '|---|---|---|---|' + '---|' * len(COLUMNS)
    ]
    for (mode, frac, enc), rs in keyed(('baseline', 'probe', 'finetune')):
        lines.append(f'| {mode} | {frac:g} ({rs[0]["n_labeled"]}) | {enc} | '
                     f'{len(rs)} | ' + ' | '.join(
                         _cell(rs, key, fmt)
                         for _, key, fmt in COLUMNS) + ' |')
    ridge = keyed(('ridge', ))
    if ridge:
        lines += [
            '', '## Ridge probe of pooled frozen features', '',
            'Closed-form ridge regression from the average-pooled encoder '
            'features to the head\'s targets (`uv / size`, `z_rel`), the '
            'penalty chosen on a held-out fifth of each labeled subset; '
            'ratio = L1 error / L1 error of the subset\'s mean target '
            '(< 1: the frozen features hold pose beyond the prior).', '',
            '| labels | encoder | seeds | uv L1 | uv ratio | z_rel L1 '
            '| z_rel ratio |', '|---|---|---|---|---|---|---|'
        ]
        for (_, frac, enc), rs in ridge:
            lines.append(
                f'| {frac:g} ({rs[0]["n_labeled"]}) | {enc} | {len(rs)} | ' +
                ' | '.join(
                    _cell(rs, k, f)
                    for k, f in (('uv_l1', '.4f'), ('uv_ratio', '.3f'),
                                 ('zrel_l1', '.4f'),
                                 ('zrel_ratio', '.3f'))) + ' |')
    cells = verdict(rows)
    if cells:
        lines += [
            '', '## The claim, cell by cell', '',
            'PeCLR < SimCLR < random, each gap larger than the seeds\' '
            'spread (the larger standard deviation of the pair); gain = '
            "1 - PeCLR / random (the paper's target: >= 10 % on PA-EPE).", '',
            '| mode | labels | metric | PeCLR | SimCLR | random | '
            'SimCLR - PeCLR (spread) | random - SimCLR (spread) | ordered '
            '| gain |', '|---|---|---|---|---|---|---|---|---|---|'
        ]
        for c in cells:
            m = c['means']
            (g1, s1), (g2, s2) = c['gaps']
            lines.append(
                f'| {c["mode"]} | {c["fraction"]:g} | {c["metric"]} | '
                f'{m["peclr"]:.2f} | {m["simclr"]:.2f} | {m["random"]:.2f} '
                f'| {g1:+.2f} ({s1:.2f}) | {g2:+.2f} ({s2:.2f}) | '
                f'{"yes" if c["ordered"] else "no"} | '
                f'{100 * c["gain_vs_random"]:+.1f} % |')
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(text)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for col, mode in enumerate(('probe', 'finetune')):
        for row, (name, key) in enumerate(
            (('PA-EPE (mm)', 'freihand/PA-EPE'), ('EPE-2D (px)',
                                                  'freihand/EPE-2D'))):
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
