# Copyright (c) peclr_mm authors. All rights reserved.
"""The report of ``projects/reproduction/reproduce_claim.py``: the table
of every encoder, mode and labelled fraction beside the mean pose, the
verdict on the paper's claim, and the PA-EPE-vs-labels figure."""
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


def timing_text(timing: dict) -> str:
    """One line of the stages' times: each stage's own record (its runs'
    logged training or analysis seconds, the same however often the study
    was killed and resumed; 'not recorded' where a run kept none), then what
    this call spent beyond a second."""
    call = '_this_call_s'
    own = ', '.join(f'{k[:-2]} ' +
                    ('not recorded' if v is None else f'{v / 60:.1f} min')
                    for k, v in timing.items() if not k.endswith(call))
    now = ', '.join(f'{k[:-len(call)]} {v / 60:.1f} min'
                    for k, v in timing.items() if k.endswith(call) and v >= 1)
    return (f'Time per stage (its runs\' own records): {own or "none"}. '
            f'This call: {now or "under a second per stage"}.')


def missing_lines(missing: list) -> list:
    """The section that says a report is partial: the runs not yet there
    (``--report-only`` on a study in progress)."""
    if not missing:
        return []
    return [
        '', f'## Not yet run ({len(missing)})', '',
        'This report covers the finished runs only; an encoder whose seeds '
        'are not all there is left out of that mode and fraction, and the '
        'cells that need it with it, until its runs are there (rerun '
        'without `--report-only` to run them):', ''
    ] + [f'- `{m}`' for m in missing]


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


#: How a gap is compared with the seeds' spread: ``'max'`` (the larger of
#: the pair's standard deviations, the first reports' rule) or ``'sum'``
#: (their sum, the stricter rule the scaling study is judged by).
SPREAD_RULES = {'max': max, 'sum': lambda a, b: a + b}


def _cells(rows: list, fractions, encoders):
    """Each (mode, fraction, metric) cell that every one of ``encoders``
    has, with their per-seed values: ``(mode, fraction, metric, {encoder:
    array})``, probe before fine-tuning, PA-EPE before EPE-2D."""
    table = _group(rows)
    for mode in ('probe', 'finetune'):
        for frac in fractions:
            if not all((mode, frac, e) in table for e in encoders):
                continue
            for metric in ('PA-EPE', 'EPE-2D'):
                yield mode, frac, metric, {
                    e:
                    np.array([
                        r[f'freihand/{metric}'] for r in table[(mode, frac, e)]
                    ])
                    for e in encoders
                }


def _gap(v: dict, better: str, worse: str, combine) -> tuple:
    """``worse``'s mean minus ``better``'s (> 0: in that order) and the
    seeds' spread of the pair under ``combine``."""
    return (float(v[worse].mean() - v[better].mean()),
            float(combine(v[worse].std(), v[better].std())))


def verdict(rows: list, fractions=(0.01, 0.05), rule: str = 'max') -> list:
    """The claim checked cell by cell: for each mode (probe, fine-tune),
    scarce-label fraction and metric (PA-EPE, EPE-2D), does PeCLR < SimCLR <
    random hold with each gap larger than the seeds' spread (``rule``: the
    larger of the two standard deviations, or their sum), and is PeCLR's
    PA-EPE at least 10 % below random's? Returns one dict per cell."""
    combine = SPREAD_RULES[rule]
    out = []
    for mode, frac, metric, v in _cells(rows, fractions, ENCODERS):
        gaps = [
            _gap(v, better, worse, combine)
            for better, worse in (('peclr', 'simclr'), ('simclr', 'random'))
        ]
        out.append(
            dict(
                mode=mode,
                fraction=frac,
                metric=metric,
                means={e: float(v[e].mean())
                       for e in ENCODERS},
                gaps=gaps,
                ordered=all(g > sp for g, sp in gaps),
                gain_vs_random=float(1 -
                                     v['peclr'].mean() / v['random'].mean())))
    return out


LATENT_INTRO = (
    'The mechanism, measured on the frozen encoders '
    '(`projects/reproduction/analysis/equivariance.py`): equivariance '
    'error / the error of '
    'a latent that stays put, for rotations of the image (+-15 to 90 '
    'degrees) and shifts (0: the latent follows the image as PeCLR\'s '
    'geometry says; 1: invariant); the in-plane rotation read back from '
    'the pooled features by a ridge probe (mean absolute error, degrees; '
    'chance answers the mean angle); the hand\'s own in-plane orientation '
    '(wrist -> middle MCP in its untransformed view) read back alike, '
    'which a rotation-invariant encoder cannot keep; pose retrieval (mean '
    'root-relative '
    'distance of the 5 nearest training hands, mm, beside random hands).')


def latent_lines(rows: list, names=None, by_epoch: bool = False) -> list:
    """Markdown rows of the latent analysis (``mode='latent'`` rows), one
    per encoder (and epoch)."""
    lat = [r for r in rows if r['mode'] == 'latent']
    if not lat:
        return []
    order = {e: i for i, e in enumerate(names or ())}
    lat.sort(key=lambda r: (order.get(r['encoder'], len(order)), r['encoder'],
                            r.get('epoch') or 0))
    head = '| encoder | ' + ('epoch | ' if by_epoch else '')
    lines = [
        head + 'rotation error ratio | shift error ratio | rotation '
        'read-out (deg) | chance (deg) | orientation read-out (deg) | '
        'chance (deg) | retrieval (mm) | chance (mm) |',
        '|---|' + ('---|' if by_epoch else '') + '---|' * 8
    ]

    def deg(v):  # '-': kept from before the orientation read-out
        return '-' if v is None else f'{v:.2f}'

    for r in lat:
        lines.append(
            f'| {r["encoder"]} | ' +
            (f'{r.get("epoch") or "-"} | ' if by_epoch else '') +
            f'{r["rotation_error_ratio"]:.3f} | '
            f'{r["shift_error_ratio"]:.3f} | {r["readout_deg"]:.2f} | '
            f'{r["readout_chance_deg"]:.2f} | '
            f'{deg(r.get("orientation_readout_deg"))} | '
            f'{deg(r.get("orientation_chance_deg"))} | '
            f'{r["retrieval_mm"]:.1f} | {r["retrieval_chance_mm"]:.1f} |')
    lines += [
        '', 'The training hands\' own in-plane orientation (wrist -> middle '
        f'MCP): circular std {lat[0]["orientation_std_deg"]:.1f} degrees.'
    ]
    return lines


def versus(rows: list,
           challenger: str,
           incumbent: str,
           fractions=(0.01, 0.05),
           rule: str = 'sum') -> list:
    """Does ``challenger`` beat ``incumbent`` (e.g. similar-hand positives
    against PeCLR) cell by cell: for each mode, scarce-label fraction and
    metric (PA-EPE, EPE-2D), the gap ``incumbent - challenger`` and whether
    it exceeds the seeds' spread (``rule`` as :func:`verdict`). Returns one
    dict per cell both encoders have."""
    combine = SPREAD_RULES[rule]
    out = []
    for mode, frac, metric, v in _cells(rows, fractions,
                                        (challenger, incumbent)):
        gap, spread = _gap(v, challenger, incumbent, combine)
        out.append(
            dict(
                mode=mode,
                fraction=frac,
                metric=metric,
                challenger=challenger,
                incumbent=incumbent,
                means={e: float(v[e].mean())
                       for e in (challenger, incumbent)},
                gap=gap,
                spread=spread,
                better=gap > spread,
                worse=-gap > spread))
    return out


def summarise(rows: list,
              out: str,
              budget: str,
              cmd: str,
              b,
              timing: dict,
              encoders=('peclr', 'simclr'),
              compare=(),
              mining=None,
              missing=()) -> str:
    """Write ``results.md`` and ``pa_epe_vs_labels.png``; return the text.

    Args:
        rows: the rows of the evaluated checkpoints.
        out: the folder to write into.
        budget: the budget's name.
        cmd: the command that made them.
        b: the budget config.
        timing: stage -> seconds.
        encoders: the pretrained encoders, in the budget's order.
        compare: ``(challenger, incumbent)`` pairs to judge with
            :func:`versus`.
        mining: per similar-hand encoder, what its mined pairs are worth.
        missing: the runs not yet there (a partial report).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    table = _group(rows)
    names = ('mean pose', ) + ENCODERS + tuple(
        e for e in encoders if e not in ENCODERS)
    order = {e: i for i, e in enumerate(names)}
    configs = ', '.join(f'`{b.pretrain.configs[e]}`'
                        for e in dict.fromkeys(encoders))

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
        f'pretraining {configs}, '
        f'{max(r.get("epoch") or 0 for r in rows) or b.pretrain.max_epochs}'
        f' epochs of a {b.pretrain.max_epochs}-epoch schedule '
        f'each, changed by `{b.pretrain.get("cfg_options", {})}`; '
        f'downstream `{b.downstream_config}`: probe (frozen encoder, '
        f'trained head) {b.probe_iters} and fine-tuning {b.finetune_iters} '
        'iterations on labeled subsets of the training annotations; mean '
        '± std over seeds (subset draw and head initialisation). '
        "`mean pose` ignores the image: the labeled subset's mean pose "
        '(docs/design.md section 4c).', '',
        'Errors in mm except EPE-2D (image pixels); RR-EPE is root (wrist) '
        'relative; AUC over 0-50 mm. ' + timing_text(timing), '',
        '## Probe and fine-tuning', '',
        '| mode | labels | encoder | seeds | ' + ' | '.join(c[0]
                                                            for c in COLUMNS) +
        ' |', '|---|---|---|---|' + '---|' * len(COLUMNS)
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
    latent = latent_lines(rows, names)
    if latent:
        lines += ['', '## What the latent keeps', '', LATENT_INTRO, ''
                  ] + latent
    if mining:
        lines += [
            '', '## Similar-hand pairs', '',
            'What each similar-hand encoder\'s mined pairs are worth, '
            'measured with the true 2-D poses: the mean RMS per-joint '
            'distance (palm lengths) between a hand and its k mined '
            'partners, its nearest one, and a random other hand; for '
            'pseudo-labels, their own EPE-2D against the truth (image '
            'pixels) and the run that made them.', '',
            '| encoder | poses | k | pairs | nearest | random pairs | '
            'labels EPE-2D | labeller |', '|---|---|---|---|---|---|---|---|'
        ]
        for enc, m in mining.items():
            epe = m.get('EPE-2D')
            lines.append(f'| {enc} | {m["poses"]} | {m["k"]} | '
                         f'{m["pair_true_distance"]:.3f} | '
                         f'{m["nearest_true_distance"]:.3f} | '
                         f'{m["random_pair_true_distance"]:.3f} | ' +
                         ('-' if epe is None else f'{epe:.2f}') +
                         f' | {m.get("labeller", "-")} |')
    for challenger, incumbent in compare:
        cells = versus(rows, challenger, incumbent, tuple(b.fractions))
        if not cells:
            continue
        lines += [
            '', f'## {challenger} against {incumbent}', '',
            f'Gap = {incumbent} - {challenger} (> 0: {challenger} is '
            'better); it counts when it exceeds the sum of the two seed '
            'standard deviations.', '',
            f'| mode | labels | metric | {challenger} | {incumbent} | gap '
            '(spread) | verdict |', '|---|---|---|---|---|---|---|'
        ]
        for c in cells:
            word = ('better' if c['better'] else
                    'worse' if c['worse'] else 'within the spread')
            lines.append(f'| {c["mode"]} | {c["fraction"]:g} | '
                         f'{c["metric"]} | {c["means"][challenger]:.2f} | '
                         f'{c["means"][incumbent]:.2f} | {c["gap"]:+.2f} '
                         f'({c["spread"]:.2f}) | {word} |')
        lines.append('')
        lines.append(f'{challenger} better in '
                     f'{sum(c["better"] for c in cells)}, worse in '
                     f'{sum(c["worse"] for c in cells)} of {len(cells)} '
                     'cells.')
    lines += missing_lines(missing)
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(text)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for col, mode in enumerate(('probe', 'finetune')):
        for row, (name, key) in enumerate(
            (('PA-EPE (mm)', 'freihand/PA-EPE'), ('EPE-2D (px)',
                                                  'freihand/EPE-2D'))):
            ax = axes[row, col]
            for enc in names:
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


def epoch_verdicts(rows: list, epochs, fractions=(0.01, 0.05)) -> dict:
    """:func:`verdict` under the sum-of-spreads rule at each pretraining
    epoch, random init (``epoch`` None) the reference of every epoch:
    ``{(mode, fraction, metric, epoch): cell}``."""
    cells = {}
    for e in epochs:
        at = [
            dict(r) for r in rows
            if r.get('epoch') in (None, e) and r['mode'] in ('probe',
                                                             'finetune')
        ]
        for c in verdict(at, fractions, rule='sum'):
            cells[(c['mode'], c['fraction'], c['metric'], e)] = c
    return cells


def scaling(rows: list,
            out: str,
            budget: str,
            epochs: list,
            fractions=(0.01, 0.05),
            timing=None,
            missing=()) -> str:
    """The gaps against pretraining epochs: for each checkpoint epoch the
    verdict under the stricter rule (each gap beyond the sum of the two seed
    spreads), written as ``scaling.md`` and ``gaps_vs_epochs.png`` (each gap
    with that spread as a band). Random init is every epoch's reference.

    Args:
        rows: every row of the reproduction, each pretrained one with its
            ``epoch`` (random init and the mean pose: None).
        out: the folder to write into.
        budget: the budget's name, for the titles.
        epochs: the evaluated checkpoint epochs.
        fractions: the labelled fractions of the claim.
        timing: stage -> seconds (:func:`timing_text`), if given.
        missing: the runs not yet there (a partial report).

    Returns:
        str: the Markdown text.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cells = epoch_verdicts(rows, epochs, fractions)
    lines = [
        f'# The claim against pretraining epochs, budget `{budget}`', '',
        'Checkpoints of one pretraining schedule per method, each probed and '
        'fine-tuned like the last; random init is the same runs at every '
        'epoch. Gap = the worse mean minus the better (> 0: in the claimed '
        'order), band = the sum of the two seed standard deviations; a cell '
        'holds when both gaps exceed their bands.' +
        (' ' + timing_text(timing) if timing else ''), '',
        '| mode | labels | metric | epoch | PeCLR | SimCLR | random | '
        'SimCLR - PeCLR (band) | random - SimCLR (band) | holds | gain |',
        '|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for (mode, frac, metric, e), c in sorted(cells.items()):
        m = c['means']
        (g1, s1), (g2, s2) = c['gaps']
        lines.append(f'| {mode} | {frac:g} | {metric} | {e} | '
                     f'{m["peclr"]:.2f} | {m["simclr"]:.2f} | '
                     f'{m["random"]:.2f} | {g1:+.2f} ({s1:.2f}) | '
                     f'{g2:+.2f} ({s2:.2f}) | '
                     f'{"yes" if c["ordered"] else "no"} | '
                     f'{100 * c["gain_vs_random"]:+.1f} % |')
    held = sum(c['ordered'] for c in cells.values())
    lines += [
        '', f'{held} of {len(cells)} cells hold (every epoch, mode, '
        'fraction and metric).'
    ]
    latent = latent_lines(rows, ENCODERS, by_epoch=True)
    if latent:
        lines += [
            '', '## What the latent keeps, against epochs', '',
            LATENT_INTRO + ' Random init: the untrained encoder.', ''
        ] + latent
        _latent_plot(rows, out, budget)
    lines += missing_lines(missing)
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out, 'scaling.md'), 'w') as f:
        f.write(text)
    keys = sorted({k[:3] for k in cells})
    fig, axes = plt.subplots(
        2,
        max(1,
            len(keys) // 2),
        figsize=(4 * max(1,
                         len(keys) // 2), 7),
        squeeze=False)
    for ax, key in zip(axes.T.flat, keys):
        es = [e for e in epochs if key + (e, ) in cells]
        for i, name in enumerate(('SimCLR - PeCLR', 'random - SimCLR')):
            gap = np.array([cells[key + (e, )]['gaps'][i][0] for e in es])
            band = np.array([cells[key + (e, )]['gaps'][i][1] for e in es])
            ax.plot(es, gap, marker='o', label=name, color=f'C{i}')
            ax.fill_between(es, -band, band, color=f'C{i}', alpha=.15)
        ax.axhline(0, color='grey', lw=.8)
        ax.set_title(f'{key[0]} {key[1]:g} {key[2]}', fontsize=9)
        ax.set_xlabel('pretraining epochs')
        ax.grid(alpha=.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f'gaps (> 0: claimed order) and seed bands, {budget}')
    fig.tight_layout()
    fig.savefig(osp.join(out, 'gaps_vs_epochs.png'), dpi=100)
    plt.close(fig)
    return text


def _latent_plot(rows: list, out: str, budget: str) -> None:
    """``latent_vs_epochs.png``: the rotation error ratio, the rotation
    read-out and the orientation read-out of each pretrained encoder
    against epochs, random init and chance as lines."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    lat = [r for r in rows if r['mode'] == 'latent']
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, key, label in ((axes[0], 'rotation_error_ratio',
                            'rotation error / invariant latent\'s'),
                           (axes[1], 'readout_deg',
                            'rotation read-out error (deg)'),
                           (axes[2], 'orientation_readout_deg',
                            'orientation read-out error (deg)')):
        for i, enc in enumerate(dict.fromkeys(r['encoder'] for r in lat)):
            pts = sorted((r['epoch'], r[key]) for r in lat
                         if r['encoder'] == enc and r.get('epoch')
                         and r.get(key) is not None)
            if pts:
                ax.plot(*zip(*pts), marker='o', label=enc, color=f'C{i}')
            else:  # random init: no epoch
                v = [
                    r[key] for r in lat if r['encoder'] == enc
                    and not r.get('epoch') and r.get(key) is not None
                ]
                if v:
                    ax.axhline(v[0], color='grey', ls='--', label=enc)
        chance = dict(
            readout_deg='readout_chance_deg',
            orientation_readout_deg='orientation_chance_deg').get(key)
        ref = [r[chance] for r in lat if chance and r.get(chance) is not None]
        if ref:
            ax.axhline(ref[0], color='k', ls=':', label='chance')
        ax.set_xlabel('pretraining epochs')
        ax.set_ylabel(label)
        ax.grid(alpha=.3)
        ax.legend(fontsize=8)
    fig.suptitle(f'what the latent keeps of a rotation, {budget}')
    fig.tight_layout()
    fig.savefig(osp.join(out, 'latent_vs_epochs.png'), dpi=100)
    plt.close(fig)
