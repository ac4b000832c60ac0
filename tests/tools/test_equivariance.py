# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os.path as osp

from tools.analysis.equivariance import main


def test_equivariance_analysis_runs_and_is_consistent(synthetic_root,
                                                      tmp_path):
    out = tmp_path / 'eq'
    assert main([
        '--data', synthetic_root, '--encoder', 'random', '--encoder', 'other',
        '--size', '32', '--num', '8', '--gallery', '24', '--k', '3',
        '--angles', '-30', '30', '--shifts', '0.1', '--out',
        str(out)
    ]) == 0
    res = json.load(open(out / 'equivariance.json'))
    for name in ('random', 'other'):
        rows = res['encoders'][name]['latent']
        # two rotations, one shift along x and one along y
        assert len(rows) == 4
        for r in rows:
            assert r['should'] > 0 and r['moved'] >= 0
            # a random encoder is not equivariant: undoing the geometry
            # does not bring its latent back
            assert r['error'] > 0.2 * r['should']
        ret = res['encoders'][name]['retrieval_mm']
        assert ret['root_relative'] > 0 and ret['aligned'] > 0
    refs = res['retrieval_references_mm']
    for key in ('root_relative', 'aligned'):
        assert refs['oracle'][key] < refs['chance'][key]
        # no encoder retrieves closer poses than the closest poses
        for name in ('random', 'other'):
            assert res['encoders'][name]['retrieval_mm'][key] >= \
                refs['oracle'][key] - 1e-9
    for name in ('random', 'other'):
        ro = res['encoders'][name]['rotation_readout']
        assert ro['error_deg'] >= 0 and ro['chance_deg'] > 0
    o = res['orientation']
    assert 0 < o['circular_std_deg'] < 180
    assert o['p10_deg'] <= o['p50_deg'] <= o['p90_deg']
    # both encoders are built with the same seed: the same numbers
    assert res['encoders']['random'] == res['encoders']['other']
    table = (out / 'equivariance.md').read_text()
    assert '| random |' in table and '| oracle |' in table
    assert 'Rotation read-out' in table and 'circular std' in table
    assert osp.getsize(out / 'equivariance.png') > 1000
    assert osp.getsize(out / 'retrieval.jpg') > 1000
