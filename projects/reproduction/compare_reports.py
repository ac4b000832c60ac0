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

A seed whose metric is null (or missing, or not finite) is left out of
its cell's mean: the table gives the seeds averaged (``2 of 3``) and a note
lists every such cell, and a cell that one report holds no value of is
named instead of dropped. Exit codes: 0 compared; 2 bad input (a missing
or invalid file, a row with a field of the wrong type, an output path that
is one of the reports), one line naming the file, the row and the field.

Example::

    python -m projects.reproduction.compare_reports \\
        docs/results/reproduce_cpu_versions_20e.json \\
        work_dirs/reproduce/cpu_versions_20e/results.json --out compare.md
"""
import argparse
import math
import numbers
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from projects.reproduction import reproduce_report as report

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

#: modes whose rows belong to one labelled fraction (``fraction`` needed)
_WITH_FRACTION = ('baseline', 'ridge', 'probe', 'finetune')


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_row(path: str, i: int, r) -> None:
    """Raise a ``ValueError`` naming ``path``, ``rows[i]`` and the field
    when a row cannot be compared."""
    if not isinstance(r, dict) or 'mode' not in r or 'encoder' not in r:
        raise ValueError(f'{path}: rows[{i}] must be a dict with "mode" '
                         f'and "encoder", got {str(r)[:80]}')

    def bad(field, expected):
        return ValueError(f'{path}: rows[{i}] ({str(r["mode"])[:20]} '
                          f'{str(r["encoder"])[:20]}): "{field}" must be '
                          f'{expected}, got {str(r[field])[:40]!r}')

    for field in ('mode', 'encoder'):
        if not isinstance(r[field], str):
            raise bad(field, 'a string')
    if r['mode'] not in METRICS:
        return  # not compared
    if r['mode'] in _WITH_FRACTION and 'fraction' not in r:
        raise ValueError(f'{path}: rows[{i}] ({r["mode"]} {r["encoder"]}) '
                         'has no "fraction" (the labelled fraction of its '
                         'cell)')
    if r['mode'] in _WITH_FRACTION and not _is_number(r['fraction']):
        raise bad('fraction', 'a number')
    for field in ('fraction', 'epoch'):
        if r.get(field) is not None and not _is_number(r[field]):
            raise bad(field, 'a number or null')
    for _, k in METRICS[r['mode']]:
        if r.get(k) is not None and not _is_number(r[k]):
            raise bad(k, 'a number or null')


def load_report(path: str) -> dict:
    """A ``results.json`` of ``reproduce_claim.py``, checked: its ``rows``
    must be a list of dicts, each with a string ``mode`` and ``encoder``;
    a compared row (a mode of :data:`METRICS`) needs a number ``fraction``
    (null allowed for ``latent``), and its ``epoch`` and metrics must be
    numbers or null. A bad row raises a ``ValueError`` naming the file,
    the row and the field."""
    from peclr_mm.utils.io import read_json
    loaded = read_json(path, 'reproduce_claim.py report')
    rows = loaded.get('rows') if isinstance(loaded, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f'{path}: expected a report of reproduce_claim.py '
                         'with a list under "rows"')
    for i, r in enumerate(rows):
        _check_row(path, i, r)
    budget = loaded.get('budget')
    if budget is not None and not isinstance(budget, dict):
        raise ValueError(f'{path}: "budget" must be a dict, got '
                         f'{str(budget)[:40]!r}')
    fractions = (budget or {}).get('fractions')
    if fractions is not None and not (isinstance(fractions, list) and all(
            _is_number(f) for f in fractions)):
        raise ValueError(f'{path}: "budget.fractions" must be a list of '
                         f'numbers, got {str(fractions)[:40]!r}')
    return loaded


def _value(r: dict, k: str) -> Optional[float]:
    """Row ``r``'s metric ``k``; None when null, missing or not finite."""
    v = r.get(k)
    return float(v) if v is not None and math.isfinite(v) else None


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


def compare(rows_a: List[dict], rows_b: List[dict]
            ) -> Tuple[List[dict], List[tuple], List[tuple], List[dict]]:
    """The cells of two reports' rows compared.

    A row whose metric is null (or missing, or not finite) is left out of
    its cell's mean; ``rows_a`` / ``rows_b`` of a cell count its rows, so
    ``n_a < rows_a`` says that seeds were left out.

    Returns:
        tuple: one dict per (mode, encoder, epoch, fraction, metric) both
        hold (``mean_a``, ``std_a``, ``n_a`` values averaged, ``rows_a``
        rows, the same for ``b``, ``diff`` = b - a, ``band`` = std_a +
        std_b, ``within``: ``|diff| <= band``, None for single rows), then
        the group keys only the first holds, then those only the second
        holds, then the cells left out because one side has rows but no
        value (``mode``, ``encoder``, ``epoch``, ``fraction``, ``metric``,
        ``rows_a``, ``n_a``, ``rows_b``, ``n_b``).
    """
    ga, gb = _groups(rows_a), _groups(rows_b)
    cells, empty = [], []
    for key in sorted(set(ga) & set(gb), key=_order):
        mode, enc, epoch, frac = key
        for label, k in METRICS[mode]:
            va, vb = (
                np.array([
                    v for v in (_value(r, k) for r in g[key]) if v is not None
                ], float) for g in (ga, gb))
            if not len(va) or not len(vb):
                if len(va) or len(vb):
                    empty.append(
                        dict(
                            mode=mode,
                            encoder=enc,
                            epoch=epoch,
                            fraction=frac,
                            metric=label,
                            rows_a=len(ga[key]),
                            n_a=len(va),
                            rows_b=len(gb[key]),
                            n_b=len(vb)))
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
                    rows_a=len(ga[key]),
                    mean_b=float(mb),
                    std_b=float(sb),
                    n_b=len(vb),
                    rows_b=len(gb[key]),
                    diff=diff,
                    band=None if single else band,
                    within=None if single else abs(diff) <= band))
    only_a = sorted(set(ga) - set(gb), key=_order)
    only_b = sorted(set(gb) - set(ga), key=_order)
    return cells, only_a, only_b, empty


def _epochs(rows: List[dict]) -> list:
    return sorted({r['epoch'] for r in rows if r.get('epoch') is not None})


def verdicts(rows_a: List[dict], rows_b: List[dict],
             fractions=(0.01, 0.05)) -> List[dict]:
    """For each pretraining epoch both reports evaluated, the claim's
    verdict per cell (``reproduce_report.epoch_verdicts``) in each:
    ``ordered_a``, ``ordered_b``, ``same``. Each metric is judged on the
    rows that hold it (a null seed left out, as in :func:`compare`)."""
    epochs = sorted(set(_epochs(rows_a)) & set(_epochs(rows_b)))

    def judged(rows):
        cells = {}
        for _, k in _POSE:
            # the rows that hold metric k, the other metric's value set to
            # 1 (its cells are not kept from this pass)
            held = [
                dict(r, **{
                    o: 1.
                    for _, o in _POSE if o != k
                }) for r in rows
                if r['mode'] in ('probe',
                                 'finetune') and _value(r, k) is not None
            ]
            metric = k.split('/')[-1]
            cells.update({
                key: c
                for key, c in report.epoch_verdicts(
                    held, epochs, fractions).items() if key[2] == metric
            })
        return cells

    va, vb = judged(rows_a), judged(rows_b)
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


def null_note(cells: List[dict], empty: List[dict]) -> List[str]:
    """The lines that say which cells left a null seed out (empty when
    none did)."""

    def name(c):
        return (f'{c["mode"]} {c["encoder"]}' +
                (f' epoch {c["epoch"]}' if c['epoch'] is not None else '') +
                (f' at {c["fraction"]:g} labels'
                 if c['fraction'] is not None else '') + f', {c["metric"]}')

    def sides(c):
        return ' and '.join(f'{c[f"n_{s}"]} of {c[f"rows_{s}"]} rows in {s}'
                            for s in 'ab' if c[f'n_{s}'] < c[f'rows_{s}'])

    partial = [
        c for c in cells if c['n_a'] < c['rows_a'] or c['n_b'] < c['rows_b']
    ]
    lines = []
    if partial:
        lines.append(f'Note: {len(partial)} cells average fewer seeds than '
                     'they have rows (a null, missing or non-finite metric '
                     'is left out, here and in the verdicts): ' +
                     '; '.join(f'{name(c)}: {sides(c)}'
                               for c in partial) + '.')
    if empty:
        lines.append(f'Note: {len(empty)} cells are left out because one '
                     'report holds no value of them: ' +
                     '; '.join(f'{name(c)}: {sides(c)}' for c in empty) + '.')
    return lines


def markdown(path_a: str,
             path_b: str,
             report_a: dict,
             report_b: dict,
             cells: List[dict],
             only_a: List[tuple],
             only_b: List[tuple],
             verdict_cells: List[dict],
             empty: Optional[List[dict]] = None) -> str:
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
    note = null_note(cells, empty or [])
    if note:
        lines += [''] + note
    lines += [
        '', '| mode | encoder | epoch | labels | metric | a | b | b - a | '
        'band | within |', '| --- | --- | --- | --- | --- | --- | --- | --- '
        '| --- | --- |'
    ]

    def ms(c, side):
        m, s, n = (c[f'{k}_{side}'] for k in ('mean', 'std', 'n'))
        rows = c.get(f'rows_{side}', n)
        text = f'{m:.3f}' if n == 1 else f'{m:.3f} ± {s:.3f}'
        return text + (f' ({n} of {rows} seeds)' if n < rows else '')

    for c in cells:
        lines.append(
            f'| {c["mode"]} | {c["encoder"]} | '
            f'{"-" if c["epoch"] is None else c["epoch"]} | '
            f'{"-" if c["fraction"] is None else format(c["fraction"], "g")}'
            f' | {c["metric"]} | {ms(c, "a")} | '
            f'{ms(c, "b")} | {c["diff"]:+.3f} | '
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
    try:
        for path in (args.out, args.json):
            if path and osp.abspath(path) in (osp.abspath(
                    args.first), osp.abspath(args.second)):
                raise ValueError(f'--out/--json {path} is one of the reports '
                                 'compared; name another file')
        ra, rb = load_report(args.first), load_report(args.second)
    except (OSError, ValueError) as exc:
        print(f'compare_reports: {exc}', file=sys.stderr)
        return 2
    cells, only_a, only_b, empty = compare(ra['rows'], rb['rows'])
    fractions = tuple((rb.get('budget') or {}).get('fractions')
                      or (0.01, 0.05))
    v = verdicts(ra['rows'], rb['rows'], fractions)
    text = markdown(args.first, args.second, ra, rb, cells, only_a, only_b, v,
                    empty)
    print(text)
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
                left_out=empty,
                verdicts=v),
            indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
