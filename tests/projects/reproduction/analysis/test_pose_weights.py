# Copyright (c) peclr_mm authors. All rights reserved.
import json
import math

import pytest


def test_reference_latents_under_the_pose_weights(synthetic_root, tmp_path,
                                                  capsys):
    """Unweighted, the collapsed and the orthogonal latents cost exactly
    log(2N - 1) and the ideal one less; the weighted losses are reported
    beside them, with the mean weights in [0, 1]."""
    from projects.reproduction.analysis.pose_weights import main
    from tools.mine_similar_hands import main as mine
    sim = str(tmp_path / 'sim.npz')
    assert mine(['--data', synthetic_root, '--k', '3', '--out', sim]) == 0
    out = tmp_path / 'w.json'
    assert main([
        '--similar', sim, '--batch', '4', '8', '--batches', '3', '--k', '3',
        '--out',
        str(out)
    ]) == 0
    rows = json.load(open(out))['rows']
    for n, r in ((4, rows['4']), (8, rows['8'])):
        for case in ('orthogonal', 'collapsed'):
            assert r[f'unweighted/{case}'] == pytest.approx(
                math.log(2 * n - 1))
        assert r['unweighted/ideal'] < r['unweighted/orthogonal']
        assert r['weighted/orthogonal'] == pytest.approx(
            math.log(2 * n - 1))  # zero similarities: weights do nothing
        assert 0 <= r['neg_weight'] <= 1 and 0 <= r['pos_weight'] <= 1
    assert '| 8 |' in capsys.readouterr().out
    assert main(['--similar', sim, '--batch', '99']) == 2
    assert 'exceeds' in capsys.readouterr().err
