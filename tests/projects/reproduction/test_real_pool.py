# Copyright (c) peclr_mm authors. All rights reserved.
import pytest

from projects.reproduction.real_pool import main, rows_of, table


def _record(pa):
    split = {
        'freihand/PA-EPE': pa,
        'freihand/mean-pose/PA-EPE': 20.,
        'freihand/EPE-2D': 30.,
        'freihand/mean-pose/EPE-2D-in-box': 40.,
        'freihand/RR-EPE': 50.,
        'freihand/mean-pose/RR-EPE': 100.,
    }
    return dict(splits=dict(real_0_291=split, synthetic=dict(split)))


def test_rows_name_the_model_value_its_reference_and_ratio():
    rows = rows_of('peclr_renders', 1, 0.1, 'finetune', _record(10.))
    assert len(rows) == 6
    real = {r['metric']: r for r in rows if r['split'] == 'real_0_291'}
    assert real['PA-EPE']['value'] == 10. and real['PA-EPE']['ratio'] == .5
    # EPE-2D-in-box: the model's 2-D error beside the mean pose in the box
    assert real['EPE-2D-in-box']['value'] == 30.
    assert real['EPE-2D-in-box']['ratio'] == pytest.approx(0.75)
    assert {r['condition'] for r in rows} == {'peclr_renders'}
    assert {r['seed'] for r in rows} == {1}


def test_table_gives_mean_spread_and_gain_over_renders_only():
    rows = []
    for seed, (a, b) in enumerate([(10., 8.), (12., 10.)]):
        rows += rows_of('peclr_renders', seed, 0.1, 'finetune', _record(a))
        rows += rows_of('peclr_renders_real', seed, 0.1, 'finetune',
                        _record(b))
    text = table(rows)
    line = next(x for x in text.splitlines() if 'real_0_291 | PA-EPE' in x)
    assert '11.00 +- 1.41 (x0.550; n=2)' in line
    assert '9.00 +- 1.41 (x0.450, +18.2 %; n=2)' in line


def test_missing_data_is_one_line(tmp_path, capsys):
    assert main(['--renders',
                 str(tmp_path), '--out',
                 str(tmp_path / 'o')]) == 2
    assert 'holds no evaluation_xyz.json' in capsys.readouterr().err
