# Copyright (c) peclr_mm authors. All rights reserved.
import json
import re

import pytest

from projects.reproduction.compare_reports import compare, main, verdicts


def _rows(shift=0.0, peclr_fine=(28.0, 28.2, 28.4), epochs=(3, 20)):
    """Fine-tuning rows of three encoders at 1 % labels, three seeds, and a
    latent row per encoder: PeCLR < SimCLR < random by 2 mm."""
    rows = []
    for seed in range(3):
        rows.append(
            dict(
                mode='finetune',
                encoder='random',
                epoch=None,
                fraction=0.01,
                seed=seed,
                **{
                    'freihand/PA-EPE': 32.0 + 0.2 * seed,
                    'freihand/EPE-2D': 34.0 + 0.2 * seed
                }))
        for e in epochs:
            for enc, base in (('simclr', 30.0), ('peclr', None)):
                v = peclr_fine[seed] if base is None else base + 0.2 * seed
                rows.append(
                    dict(
                        mode='finetune',
                        encoder=enc,
                        epoch=e,
                        fraction=0.01,
                        seed=seed,
                        **{
                            'freihand/PA-EPE': v + shift,
                            'freihand/EPE-2D': v + 2
                        }))
    rows.append(
        dict(
            mode='latent',
            encoder='peclr',
            epoch=epochs[-1],
            fraction=None,
            rotation_error_ratio=0.7 + shift,
            shift_error_ratio=0.5,
            orientation_readout_deg=18.0,
            retrieval_mm=90.0))
    return rows


def test_compare_agrees_with_itself_and_flags_a_shift():
    a = _rows()
    cells, only_a, only_b, empty = compare(a, _rows())
    assert not only_a and not only_b and not empty
    judged = [c for c in cells if c['within'] is not None]
    # 2 metrics x (random + 2 encoders x 2 epochs)
    assert len(judged) == 10 and all(c['within'] for c in judged)
    assert all(c['diff'] == 0 for c in cells)
    # the latent row has no seeds: a difference, no band
    lat = [c for c in cells if c['mode'] == 'latent']
    assert len(lat) == 4 and all(c['band'] is None for c in lat)

    # PA-EPE of the pretrained encoders moved by 1 mm; the seed spread of
    # each side is 0.163 mm, so the band is 0.327 mm
    cells, _, _, _ = compare(a, _rows(shift=1.0))
    moved = [
        c for c in cells
        if c['metric'].startswith('PA-EPE') and c['encoder'] != 'random'
    ]
    assert len(moved) == 4
    for c in moved:
        assert c['diff'] == pytest.approx(1.0)
        assert c['band'] == pytest.approx(2 * 0.163299, abs=1e-5)
        assert c['within'] is False
    still = [c for c in cells if c['within'] and c['mode'] == 'finetune']
    assert len(still) == 6  # EPE-2D of all, PA-EPE of random


def test_compare_lists_what_only_one_report_holds():
    cells, only_a, only_b, _ = compare(_rows(epochs=(3, 10, 20)), _rows())
    assert only_b == []
    assert only_a == [('finetune', 'simclr', 10, 0.01),
                      ('finetune', 'peclr', 10, 0.01)]


def test_verdicts_follow_the_sum_of_spreads_rule():
    # PeCLR 2 mm below SimCLR: holds in both reports
    same = verdicts(_rows(), _rows())
    assert len(same) == 4  # 2 epochs x (PA-EPE, EPE-2D)
    assert all(v['ordered_a'] and v['ordered_b'] and v['same'] for v in same)
    # PeCLR's seeds spread so wide that its 2 mm lead is inside the band
    wide = _rows(peclr_fine=(26.0, 28.2, 30.6))
    flips = verdicts(_rows(), wide)
    assert [v['same'] for v in flips] == [False] * 4
    assert not any(v['ordered_b'] for v in flips)


def test_main_writes_markdown_and_json(tmp_path, capsys):
    a, b = tmp_path / 'a.json', tmp_path / 'b.json'
    budget = dict(data=dict(seed=123), fractions=[0.01, 0.05])
    a.write_text(json.dumps(dict(budget=budget, rows=_rows())))
    b.write_text(
        json.dumps(
            dict(
                budget=dict(budget, data=dict(seed=7), state='kept/here'),
                rows=_rows(shift=1.0))))
    md, js = tmp_path / 'cmp.md', tmp_path / 'cmp.json'
    assert main([str(a), str(b), '--out', str(md), '--json', str(js)]) == 0
    text = md.read_text()
    assert text == capsys.readouterr().out.rstrip('\n') + '\n'
    assert '**The budgets differ** (`data.seed`)' in text
    assert '6 of 10 cells with seeds agree within the band' in text
    out = json.loads(js.read_text())
    assert len(out['cells']) == 14
    assert sum(not v['same'] for v in out['verdicts']) == 0
    # never writes over a report it compares
    assert main([str(a), str(b), '--out', str(a)]) == 2
    assert 'one of the reports' in capsys.readouterr().err
    assert json.loads(a.read_text())['rows'] == _rows()


def _main_error(capsys, *paths):
    """main's exit code and its one line on stderr."""
    code = main([str(p) for p in paths])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return code, err


def test_bad_report_is_named(tmp_path, capsys):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(rows=[dict(mode='finetune')])))
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(dict(rows=_rows())))
    code, err = _main_error(capsys, bad, good)
    assert code == 2 and re.search(r'bad.json: rows\[0\] .*"encoder"', err)
    bad.write_text(json.dumps(dict(table=[])))
    code, err = _main_error(capsys, good, bad)
    assert code == 2 and re.search('bad.json: .* "rows"', err)
    code, err = _main_error(capsys, good, tmp_path / 'none.json')
    assert code == 2 and 'none.json is missing' in err


@pytest.mark.parametrize(
    'field, value, message',
    [
        # a non-number where a number belongs (was: Unknown format code 'g')
        ('freihand/PA-EPE', 'abc', r'"freihand/PA-EPE" must be a number or '
         r"null, got 'abc'"),
        ('fraction', '0.01', r'"fraction" must be a number'),
        # a list where a scalar belongs (was: unhashable type: 'list')
        ('fraction', [0.01], r'"fraction" must be a number'),
        ('epoch', [3], r'"epoch" must be a number or null'),
        ('encoder', ['peclr'], r'"encoder" must be a string'),
        ('freihand/EPE-2D', [30.0], r'"freihand/EPE-2D" must be a number'),
        # a missing fraction (was: KeyError: 'fraction')
        ('fraction', None, r'has no "fraction"'),
    ],
    ids=[
        'metric-str', 'fraction-str', 'fraction-list', 'epoch-list',
        'encoder-list', 'metric-list', 'no-fraction'
    ])
def test_a_malformed_row_names_file_row_and_field(tmp_path, capsys, field,
                                                  value, message):
    rows = _rows()
    i = 4  # a PeCLR fine-tuning row
    assert rows[i]['encoder'] == 'peclr'
    if value is None:
        del rows[i][field]
    else:
        rows[i][field] = value
    bad, good = tmp_path / 'bad.json', tmp_path / 'good.json'
    bad.write_text(json.dumps(dict(rows=rows)))
    good.write_text(json.dumps(dict(rows=_rows())))
    for order in ((good, bad), (bad, good)):
        code, err = _main_error(capsys, *order)
        assert code == 2
        assert re.search(
            r'bad\.json: rows\[4\] \(finetune \W*peclr\W*\).*' + message,
            err), err


def test_a_malformed_budget_is_named(tmp_path, capsys):
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(dict(rows=_rows())))
    for budget, message in (([0.01], '"budget" must be a dict'),
                            (dict(fractions=['a']), '"budget.fractions"')):
        bad = tmp_path / 'bad.json'
        bad.write_text(json.dumps(dict(budget=budget, rows=_rows())))
        code, err = _main_error(capsys, good, bad)
        assert code == 2 and 'bad.json: ' + message in err, err


def test_a_null_seed_is_said_not_silently_averaged(tmp_path, capsys):
    """One seed's PA-EPE null in the second report: its cell averages the
    other two and says so in the table and in a note; the verdicts judge
    the same seeds; a cell with no value left on one side is named."""
    rows_b = _rows()
    nulls = [
        i for i, r in enumerate(rows_b)
        if r['encoder'] == 'peclr' and r.get('epoch') == 20
    ]
    rows_b[nulls[0]]['freihand/PA-EPE'] = None  # seed 0 of PeCLR, epoch 20
    for i in [
            j for j, r in enumerate(rows_b)
            if r['encoder'] == 'simclr' and r.get('epoch') == 3
    ]:
        rows_b[i]['freihand/EPE-2D'] = None  # every seed of a cell
    cells, _, _, empty = compare(_rows(), rows_b)
    cell = [
        c for c in cells if c['encoder'] == 'peclr' and c['epoch'] == 20
        and c['metric'].startswith('PA-EPE')
    ][0]
    assert (cell['n_a'], cell['rows_a'], cell['n_b'], cell['rows_b']) == (3, 3,
                                                                          2, 3)
    assert cell['mean_b'] == pytest.approx((28.2 + 28.4) / 2)
    assert [(c['encoder'], c['epoch'], c['metric'][:6], c['n_b'])
            for c in empty] == [('simclr', 3, 'EPE-2D', 0)]
    v = verdicts(_rows(), rows_b)  # a null seed does not break them
    assert len(v) == 3  # EPE-2D at epoch 3 has no SimCLR value in b

    a, b = tmp_path / 'a.json', tmp_path / 'b.json'
    a.write_text(json.dumps(dict(rows=_rows())))
    b.write_text(json.dumps(dict(rows=rows_b)))
    assert main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    row = [
        line for line in out.splitlines()
        if line.startswith('| finetune | peclr | 20 |') and 'PA-EPE' in line
    ][0]
    assert '28.300 ± 0.100 (2 of 3 seeds)' in row
    assert ('Note: 1 cells average fewer seeds than they have rows' in out
            and 'finetune peclr epoch 20 at 0.01 labels, PA-EPE (mm): 2 of '
            '3 rows in b' in out)
    assert ('Note: 1 cells are left out because one report holds no value '
            'of them: finetune simclr epoch 3 at 0.01 labels, EPE-2D (px): '
            '0 of 3 rows in b' in out)


def test_committed_reports_load_and_compare_without_notes():
    """The committed reports pass the row checks; comparing the scaling
    study's two runs gives no null note."""
    import glob
    import os.path as osp

    from projects.reproduction.compare_reports import load_report, null_note
    root = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    paths = sorted(
        glob.glob(osp.join(root, 'docs', 'results', 'reproduce_*.json')))
    assert len(paths) >= 5
    reports = {osp.basename(p): load_report(p) for p in paths}
    a = reports['reproduce_cpu_versions_20e_run1.json']['rows']
    b = reports['reproduce_cpu_versions_20e.json']['rows']
    cells, _, _, empty = compare(a, b)
    assert cells and null_note(cells, empty) == []
