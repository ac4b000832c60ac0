# Copyright (c) peclr_mm authors. All rights reserved.
import json

import pytest

from tools.benchmarks.compare_reports import compare, main, verdicts


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
    cells, only_a, only_b = compare(a, _rows())
    assert not only_a and not only_b
    judged = [c for c in cells if c['within'] is not None]
    # 2 metrics x (random + 2 encoders x 2 epochs)
    assert len(judged) == 10 and all(c['within'] for c in judged)
    assert all(c['diff'] == 0 for c in cells)
    # the latent row has no seeds: a difference, no band
    lat = [c for c in cells if c['mode'] == 'latent']
    assert len(lat) == 4 and all(c['band'] is None for c in lat)

    # PA-EPE of the pretrained encoders moved by 1 mm; the seed spread of
    # each side is 0.163 mm, so the band is 0.327 mm
    cells, _, _ = compare(a, _rows(shift=1.0))
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
    cells, only_a, only_b = compare(_rows(epochs=(3, 10, 20)), _rows())
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
    with pytest.raises(ValueError, match='one of the reports'):
        main([str(a), str(b), '--out', str(a)])
    assert json.loads(a.read_text())['rows'] == _rows()


def test_bad_report_is_named(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(rows=[dict(mode='finetune')])))
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(dict(rows=_rows())))
    with pytest.raises(ValueError, match=r'bad.json: rows\[0\] .*"encoder"'):
        main([str(bad), str(good)])
    bad.write_text(json.dumps(dict(table=[])))
    with pytest.raises(ValueError, match='bad.json: .* "rows"'):
        main([str(good), str(bad)])
