# Copyright (c) peclr_mm authors. All rights reserved.
import json

import numpy as np
import pytest

from projects.reproduction.probe_features import main


def test_probe_runs_on_a_freihand_layout(synthetic_root, tmp_path):
    out = tmp_path / 'probe.json'
    assert main([
        '--data', synthetic_root, '--encoder', 'random', '--size', '32',
        '--num-train', '24', '--num-eval', '8', '--labels', '8', '24',
        '--lambdas', '10', '1000', '--out',
        str(out)
    ]) == 0
    rows = json.load(open(out))['rows']
    assert [(r['encoder'], r['labels']) for r in rows[:2]] == [('mean', 8),
                                                               ('mean', 24)]
    assert len(rows) == 2 + 2 * 2
    for r in rows:
        assert np.isfinite(r['uv_l1']) and r['uv_l1'] > 0
        assert np.isfinite(r['zrel_l1']) and r['zrel_l1'] > 0


def test_probe_refuses_a_missing_checkpoint(synthetic_root, tmp_path):
    with pytest.raises(SystemExit):
        main([
            '--data', synthetic_root, '--encoder', f'peclr={tmp_path}/nope.pth'
        ])
