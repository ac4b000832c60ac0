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
