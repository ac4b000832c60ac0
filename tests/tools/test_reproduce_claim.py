# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os.path as osp

from tools.benchmarks.reproduce_claim import main


def test_reproduction_protocol_runs_end_to_end(tmp_path):
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
    out = tmp_path / 'smoke'
    res = json.load(open(out / 'results.json'))
    rows = res['rows']
    # 3 encoders x (probe + fine-tune) on one fraction and seed
    assert len(rows) == 6
    assert {r['encoder'] for r in rows} == {'random', 'simclr', 'peclr'}
    for r in rows:
        assert 0 < r['freihand/PA-EPE'] < 500
    table = (out / 'results.md').read_text()
    assert table.count('| probe |') == 3 and table.count('| finetune |') == 3
    assert osp.getsize(out / 'pa_epe_vs_labels.png') > 1000
    # A second call reuses every finished run.
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
