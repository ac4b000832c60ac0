# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os.path as osp

import pytest

from tools.benchmarks.reproduce_claim import main


def test_reproduction_protocol_runs_end_to_end(tmp_path):
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
    out = tmp_path / 'smoke'
    res = json.load(open(out / 'results.json'))
    rows = res['rows']
    # the mean-pose reference + 3 encoders x (ridge + probe + fine-tune) on
    # one fraction and seed
    assert len(rows) == 10
    assert {r['encoder']
            for r in rows} == {'mean pose', 'random', 'simclr', 'peclr'}
    ridge = [r for r in rows if r['mode'] == 'ridge']
    assert len(ridge) == 3
    for r in ridge:
        assert r['uv_l1'] > 0 and r['zrel_l1'] > 0
        assert r['uv_ratio'] > 0 and r['lam'] in (1., 100.)
    rows = [r for r in rows if r['mode'] != 'ridge']
    for r in rows:
        assert 0 < r['freihand/PA-EPE'] < 500
        assert 0 < r['freihand/RR-EPE'] < 5000
        assert r['freihand/EPE-2D'] > 0
    # the reference sits at the true wrist: its error is all root-relative
    base, = [r for r in rows if r['mode'] == 'baseline']
    assert base['freihand/EPE'] == pytest.approx(base['freihand/RR-EPE'])
    for r in rows:
        if r['mode'] != 'baseline':
            assert r['loss_uv_first'] > 0 and r['loss_uv_last'] > 0
    table = (out / 'results.md').read_text()
    assert table.count('| probe |') == 3 and table.count('| finetune |') == 3
    assert table.count('| mean pose |') == 1
    # the ridge table
    assert sum(line.startswith('| 0.5 (24) |')
               for line in table.splitlines()) == 3
    assert osp.getsize(out / 'pa_epe_vs_labels.png') > 1000
    # A second call reuses every finished run: the same numbers come back.
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
    again = json.load(open(out / 'results.json'))['rows']
    again = [r for r in again if r['mode'] != 'ridge']
    assert [r['freihand/PA-EPE']
            for r in again] == [r['freihand/PA-EPE'] for r in rows]


def test_verdict_checks_order_and_spread():
    from tools.benchmarks.reproduce_report import verdict

    def rows(mode, frac, values):
        return [{
            'mode': mode,
            'fraction': frac,
            'encoder': enc,
            'seed': s,
            'freihand/PA-EPE': v + d,
            'freihand/EPE-2D': 2 * (v + d)
        } for enc, v in values.items() for s, d in enumerate((-.1, 0., .1))]

    clear = rows('probe', .01, dict(peclr=30., simclr=32., random=35.))
    # SimCLR and random within the spread of the seeds (std ~0.08 each)
    close = rows('finetune', .01, dict(peclr=30., simclr=32., random=32.05))
    cells = verdict(clear + close, fractions=(.01, ))
    by = {(c['mode'], c['metric']): c for c in cells}
    assert by[('probe', 'PA-EPE')]['ordered']
    assert by[('probe', 'EPE-2D')]['ordered']
    assert by[('probe',
               'PA-EPE')]['gain_vs_random'] == pytest.approx(1 - 30 / 35)
    assert not by[('finetune', 'PA-EPE')]['ordered']
    # the wrong order is never "ordered"
    swapped = rows('probe', .01, dict(peclr=32., simclr=30., random=35.))
    assert not any(c['ordered'] for c in verdict(swapped, fractions=(.01, )))
