# Copyright (c) peclr_mm authors. All rights reserved.
import json

import pytest

from projects.reproduction.analysis.appearance import main


def test_appearance_ranks_each_hand_among_the_other_version(
        synthetic_root, tmp_path):
    out = tmp_path / 'app'
    assert main([
        '--data', synthetic_root, '--encoder', 'random', '--size', '32',
        '--num', '24', '--grid', '1', '2', '--out',
        str(out)
    ]) == 0
    rows = json.load(open(out / 'appearance.json'))['rows']
    assert [(r['encoder'], r['grid']) for r in rows] == [('random', 1),
                                                         ('random', 2)]
    for r in rows:
        assert 0 <= r['top1'] <= r['top5'] <= 1
        assert 0 <= r['median_rank'] < 24
    assert '| random | 2 |' in (out / 'appearance.md').read_text()


def test_appearance_refuses_one_version_twice(synthetic_root, tmp_path):
    with pytest.raises(SystemExit):
        main([
            '--data', synthetic_root, '--encoder', 'random', '--versions', '1',
            '1', '--out',
            str(tmp_path)
        ])


def test_appearance_names_a_missing_version(synthetic_root, tmp_path):
    # the fixture holds versions 0 and 1 only
    with pytest.raises(ValueError, match='version'):
        main([
            '--data', synthetic_root, '--encoder', 'random', '--size', '32',
            '--num', '4', '--versions', '0', '3', '--out',
            str(tmp_path)
        ])
