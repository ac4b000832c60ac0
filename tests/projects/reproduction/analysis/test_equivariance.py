# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os.path as osp

import numpy as np

from projects.reproduction.analysis.equivariance import main


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
        oo = res['encoders'][name]['orientation_readout']
        assert oo['error_deg'] >= 0 and oo['chance_deg'] > 0
    o = res['orientation']
    assert 0 < o['circular_std_deg'] < 180
    assert o['p10_deg'] <= o['p50_deg'] <= o['p90_deg']
    # both encoders are built with the same seed: the same numbers
    assert res['encoders']['random'] == res['encoders']['other']
    table = (out / 'equivariance.md').read_text()
    assert '| random |' in table and '| oracle |' in table
    assert 'Rotation read-out' in table and 'circular std' in table
    assert 'Orientation read-out' in table
    assert osp.getsize(out / 'equivariance.png') > 1000
    assert osp.getsize(out / 'retrieval.jpg') > 1000


def test_view_keypoints_keep_a_right_hands_orientation(synthetic_root):
    """The canonical crop only scales and shifts a right hand: its joints
    in the view point the same way as in the source image, and land where
    the crop's matrix puts them: filling the view."""
    from projects.reproduction.analysis.equivariance import Views
    from projects.reproduction.probes import hand_orientation
    views = Views(synthetic_root, 'training', 6, 32)
    assert not any(s.get('is_left', False) for s in views.samples)
    src, dst = views.keypoints(), views.view_keypoints()
    np.testing.assert_allclose(
        hand_orientation(dst), hand_orientation(src), atol=1e-6)
    assert not np.allclose(src, dst)
    # padding 1: the keypoints' longer extent fills the 32-pixel view
    span = (dst.max(1) - dst.min(1)).max(1)
    np.testing.assert_allclose(span, 32., atol=1e-6)
    assert (dst > -1e-6).all() and (dst < 32 + 1e-6).all()
