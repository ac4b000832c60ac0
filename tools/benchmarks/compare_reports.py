# Copyright (c) peclr_mm authors. All rights reserved.
"""Two reports of one reproduction budget side by side: is a rerun (your
machine, another session, another pretraining run) the same study as the
committed one?

``reproduce_claim.py`` writes ``results.json`` (the committed copies are
``docs/results/reproduce_*.json``). For every cell that both reports hold,
one (mode, encoder, pretraining epoch, labelled fraction) and one metric,
this prints the mean and the seeds' standard deviation of each, the
difference (second minus first) and whether it lies within the band of
the two spreads summed, the rule the scaling study's gaps are judged by.
For three seeds per side that band is about two standard errors of the
difference, so two runs of one study should agree in about 95 % of the
cells; a single-row cell (a latent analysis) gets its difference only.
Then, for each evaluated epoch, whether the claim's verdict (PeCLR <
SimCLR < random, each gap beyond the band) comes out the same way in both,
cell by cell.

Example::

    python tools/benchmarks/compare_reports.py \\
        docs/results/reproduce_cpu_versions_20e.json \\
        work_dirs/reproduce/cpu_versions_20e/results.json --out compare.md
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.benchmarks import reproduce_report as report  # noqa: E402

_POSE = (('PA-EPE (mm)', 'freihand/PA-EPE'), ('EPE-2D (px)',
                                              'freihand/EPE-2D'))
_RIDGE = (('uv error / mean', 'uv_ratio'), ('z_rel error / mean',
                                            'zrel_ratio'))
_LATENT = (
    ('rotation error ratio', 'rotation_error_ratio'),
    ('shift error ratio', 'shift_error_ratio'),
    ('orientation read-out (deg)', 'orientation_readout_deg'),
    ('retrieval (mm)', 'retrieval_mm'),
)
#: mode -> (label, row key) of the metrics compared, in the report's order
METRICS = dict(
    baseline=_POSE, ridge=_RIDGE, probe=_POSE, finetune=_POSE, latent=_LATENT)


def load_report(path: str) -> dict:
    """A ``results.json`` of ``reproduce_claim.py``, checked: its ``rows``
    must be a list of dicts, each with ``mode`` and ``encoder``."""
    from peclr_mm.utils.io import read_json
    loaded = read_json(path, 'reproduce_claim.py report')
    rows = loaded.get('rows') if isinstance(loaded, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f'{path}: expected a report of reproduce_claim.py '
                         'with a list under "rows"')
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or 'mode' not in r or 'encoder' not in r:
            raise ValueError(f'{path}: rows[{i}] must be a dict with "mode" '
                             f'and "encoder", got {str(r)[:80]}')
    return loaded


def _key(r: dict) -> tuple:
    return r['mode'], r['encoder'], r.get('epoch'), r.get('fraction')


def _groups(rows: List[dict]) -> Dict[tuple, List[dict]]:
    out = {}
    for r in rows:
        if r['mode'] in METRICS:
            out.setdefault(_key(r), []).append(r)
    return out


def _order(key: tuple) -> tuple:
    mode, enc, epoch, frac = key
    # the report's order: random init, SimCLR, PeCLR, then the others
    rank = report.ENCODERS.index(enc) if enc in report.ENCODERS else len(
        report.ENCODERS)
    return (list(METRICS).index(mode), -1 if epoch is None else epoch,
            -1 if frac is None else frac, rank, enc)


def compare(rows_a: List[dict],
            rows_b: List[dict]) -> Tuple[List[dict], List[tuple], List[tuple]]:
    """The cells of two reports' rows compared.

    Returns:
        tuple: one dict per (mode, encoder, epoch, fraction, metric) both
        hold (``mean_a``, ``std_a``, ``n_a``, the same for ``b``, ``diff``
        = b - a, ``band`` = std_a + std_b, ``within``: ``|diff| <= band``,
        None for single rows), then the group keys only the first holds,
        then those only the second holds.
    """
    ga, gb = _groups(rows_a), _groups(rows_b)
    cells = []
    for key in sorted(set(ga) & set(gb), key=_order):
        mode, enc, epoch, frac = key
        for label, k in METRICS[mode]:
            va = np.array([r[k] for r in ga[key] if r.get(k) is not None],
                          float)
            vb = np.array([r[k] for r in gb[key] if r.get(k) is not None],
                          float)
            if not len(va) or not len(vb):
                continue
            single = len(va) == 1 or len(vb) == 1
            ma, mb, sa, sb = va.mean(), vb.mean(), va.std(), vb.std()
            diff, band = float(mb - ma), float(sa + sb)
            cells.append(
                dict(
                    mode=mode,
                    encoder=enc,
                    epoch=epoch,
                    fraction=frac,
                    metric=label,
                    mean_a=float(ma),
                    std_a=float(sa),
                    n_a=len(va),
                    mean_b=float(mb),
                    std_b=float(sb),
                    n_b=len(vb),
                    diff=diff,
                    band=None if single else band,
                    within=None if single else abs(diff) <= band))
    only_a = sorted(set(ga) - set(gb), key=_order)
    only_b = sorted(set(gb) - set(ga), key=_order)
    return cells, only_a, only_b


def _epochs(rows: List[dict]) -> list:
    return sorted({r['epoch'] for r in rows if r.get('epoch') is not None})


def verdicts(rows_a: List[dict], rows_b: List[dict],
             fractions=(0.01, 0.05)) -> List[dict]:
    """For each pretraining epoch both reports evaluated, the claim's
    verdict per cell (``reproduce_report.epoch_verdicts``) in each:
    ``ordered_a``, ``ordered_b``, ``same``."""
    epochs = sorted(set(_epochs(rows_a)) & set(_epochs(rows_b)))
    va, vb = (
        report.epoch_verdicts(rows, epochs, fractions)
        for rows in (rows_a, rows_b))
    out = []
    for mode, frac, metric, e in sorted(
            set(va) & set(vb), key=lambda k: (k[3], ) + k[:3]):
        a = va[(mode, frac, metric, e)]['ordered']
        b = vb[(mode, frac, metric, e)]['ordered']
        out.append(
            dict(
                epoch=e,
                mode=mode,
                fraction=frac,
                metric=metric,
                ordered_a=a,
                ordered_b=b,
                same=a == b))
    return out


#: budget keys that say where a study keeps its state, not what it runs
BOOKKEEPING = ('state', )


def _budget_differences(a: Optional[dict],
                        b: Optional[dict],
                        prefix: str = '') -> List[str]:
    """The budget keys whose values differ (``data.seed``, ...), the
    top-level :data:`BOOKKEEPING` keys aside."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [] if a == b else [prefix.rstrip('.') or 'budget']
    out = []
    for k in sorted(set(a) | set(b)):
        if not prefix and k in BOOKKEEPING:
            continue
        if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
            out += _budget_differences(a[k], b[k], f'{prefix}{k}.')
        elif a.get(k) != b.get(k):
            out.append(f'{prefix}{k}')
    return out


def markdown(path_a: str, path_b: str, report_a: dict, report_b: dict,
             cells: List[dict], only_a: List[tuple], only_b: List[tuple],
             verdict_cells: List[dict]) -> str:
    """The comparison as Markdown."""
    lines = [
        f'# {osp.basename(path_b)} against {osp.basename(path_a)}', '',
        f'First (a): `{path_a}`; second (b): `{path_b}`. Difference = b - a; '
        'band = the sum of the two seed standard deviations; within: '
        '|difference| <= band.', ''
    ]
    diffs = _budget_differences(report_a.get('budget'), report_b.get('budget'))
    if diffs:
        lines += [
            '**The budgets differ** (' + ', '.join(f'`{d}`' for d in diffs) +
            '): these are not two runs of one study.', ''
        ]
    judged = [c for c in cells if c['within'] is not None]
    within = sum(c['within'] for c in judged)
    lines.append(f'{within} of {len(judged)} cells with seeds agree within '
                 'the band' +
                 (f'; {len(cells) - len(judged)} single-row cells.'
                  if len(cells) > len(judged) else '.'))
    if judged:
        worst = max(
            judged, key=lambda c: abs(c['diff']) / max(c['band'], 1e-12))
        lines.append(f'Largest difference against its band: {worst["mode"]} '
                     f'{worst["encoder"]}' +
                     (f' epoch {worst["epoch"]}' if worst['epoch'] is not None
                      else '') + (f' at {worst["fraction"]:g} labels'
                                  if worst['fraction'] is not None else '') +
                     f', {worst["metric"]}: {worst["diff"]:+.3f} against '
                     f'{worst["band"]:.3f}.')
    lines += [
        '', '| mode | encoder | epoch | labels | metric | a | b | b - a | '
        'band | within |', '| --- | --- | --- | --- | --- | --- | --- | --- '
        '| --- | --- |'
    ]

    def ms(m, s, n):
        return f'{m:.3f}' if n == 1 else f'{m:.3f} ± {s:.3f}'

    for c in cells:
        lines.append(
            f'| {c["mode"]} | {c["encoder"]} | '
            f'{"-" if c["epoch"] is None else c["epoch"]} | '
            f'{"-" if c["fraction"] is None else format(c["fraction"], "g")}'
            f' | {c["metric"]} | {ms(c["mean_a"], c["std_a"], c["n_a"])} | '
            f'{ms(c["mean_b"], c["std_b"], c["n_b"])} | {c["diff"]:+.3f} | '
            f'{"-" if c["band"] is None else format(c["band"], ".3f")} | '
            f'{"-" if c["within"] is None else "yes" if c["within"] else "no"}'
            ' |')
    if verdict_cells:
        same = sum(v['same'] for v in verdict_cells)
        lines += [
            '', f'The claim\'s verdict (PeCLR < SimCLR < random, each gap '
            f'beyond the sum of the spreads) comes out the same in {same} of '
            f'{len(verdict_cells)} cells:', '',
            '| epoch | mode | labels | metric | a | b |',
            '| --- | --- | --- | --- | --- | --- |'
        ]
        for v in verdict_cells:
            lines.append(
                f'| {v["epoch"]} | {v["mode"]} | {v["fraction"]:g} | '
                f'{v["metric"]} | {"holds" if v["ordered_a"] else "no"} | '
                f'{"holds" if v["ordered_b"] else "no"} |')
    for name, keys in (('a', only_a), ('b', only_b)):
        if keys:
            lines += [
                '', f'Only in {name} ({len(keys)}): ' +
                ', '.join(f'{m} {e}' + (f' e{ep}' if ep is not None else '') +
                          (f' {f:g}' if f is not None else '')
                          for m, e, ep, f in keys) + '.'
            ]
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'first',
        help='a results.json (e.g. the committed '
        'docs/results/reproduce_NAME.json)')
    parser.add_argument('second', help='another results.json of the budget')
    parser.add_argument('--out', help='also write the Markdown here')
    parser.add_argument('--json', help='also write the cells as JSON here')
    args = parser.parse_args(argv)
    from peclr_mm.utils.io import atomic_write, atomic_write_json
    ra, rb = load_report(args.first), load_report(args.second)
    cells, only_a, only_b = compare(ra['rows'], rb['rows'])
    fractions = tuple((rb.get('budget') or {}).get('fractions')
                      or (0.01, 0.05))
    v = verdicts(ra['rows'], rb['rows'], fractions)
    text = markdown(args.first, args.second, ra, rb, cells, only_a, only_b, v)
    print(text)
    for path in (args.out, args.json):
        if path and osp.abspath(path) in (osp.abspath(
                args.first), osp.abspath(args.second)):
            raise ValueError(f'--out/--json {path} is one of the reports '
                             'compared; name another file')
    if args.out:

        def write(name):
            with open(name, 'w') as f:
                f.write(text)

        atomic_write(args.out, write)
    if args.json:
        atomic_write_json(
            args.json,
            dict(
                first=args.first,
                second=args.second,
                cells=cells,
                only_first=[list(k) for k in only_a],
                only_second=[list(k) for k in only_b],
                verdicts=v),
            indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
