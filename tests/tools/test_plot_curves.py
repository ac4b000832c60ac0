# Copyright (c) peclr_mm authors. All rights reserved.
import json

import cv2
import pytest

from tools.analysis import plot_curves


def _write_log(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(json.dumps(r) for r in records) + '\n')


def test_epoch_validation_is_placed_at_the_epoch_end(tmp_path):
    run = tmp_path / 'run'
    # an epoch-based run of 2 epochs x 4 iterations, resumed after epoch 1
    _write_log(run / '20260101_000000' / 'vis_data' / '20260101_000000.json', [
        dict(lr=1e-3, loss=3., loss_uv=.3, epoch=1, iter=2, step=2),
        dict(lr=1e-3, loss=2., loss_uv=.2, epoch=1, iter=4, step=4),
        {
            'freihand/EPE-2D': 40.,
            'freihand/mean-pose/EPE-2D': 45.,
            'step': 1
        },
    ])
    _write_log(run / '20260101_010000' / 'vis_data' / '20260101_010000.json', [
        dict(lr=1e-3, loss=1., loss_uv=.1, epoch=2, iter=8, step=8),
        {
            'freihand/EPE-2D': 20.,
            'freihand/mean-pose/EPE-2D': 45.,
            'step': 2
        },
    ])
    curves = plot_curves.read_log(plot_curves.find_logs(str(run)))
    assert curves['loss_uv'] == [(2, .3), (4, .2), (8, .1)]
    assert curves['freihand/EPE-2D'] == [(4, 40.), (8, 20.)]
    assert curves['freihand/mean-pose/EPE-2D'] == [(4, 45.), (8, 45.)]

    out = str(tmp_path / 'curves.png')
    assert plot_curves.main([str(run), '--out', out]) == 0
    img = cv2.imread(out)
    assert img is not None and img.shape[1] > img.shape[0]
    drawn = plot_curves.plot({'run': curves}, ['loss_uv', 'missing'], out)
    assert drawn == ['loss_uv']


def test_errors_name_the_file(tmp_path, capsys):
    assert plot_curves.main([str(tmp_path / 'nope'), '--out', 'x.png']) == 1
    assert 'nope' in capsys.readouterr().err
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json:2'):
        plot_curves.read_log([str(bad)])
    good = tmp_path / 'good.json'
    good.write_text('{"loss": 1, "step": 1}\n')
    assert plot_curves.main([
        str(good), '--out',
        str(tmp_path / 'p.png'), '--keys', 'freihand/EPE'
    ]) == 1
    assert 'keys found: loss' in capsys.readouterr().err


def test_a_folder_of_runs_plots_each_training_run(tmp_path, capsys):
    """``plot_curves.py work_dirs/demo``: the pretraining and fine-tuning
    runs beside the test run, not the test's one score."""
    demo = tmp_path / 'demo'
    stamp = '20260101_000000'
    _write_log(demo / 'pretrain' / stamp / 'vis_data' / f'{stamp}.json', [
        dict(lr=1e-3, loss=4., epoch=1, iter=2, step=2),
    ])
    _write_log(demo / 'finetune' / stamp / 'vis_data' / f'{stamp}.json', [
        dict(lr=1e-3, loss=3., loss_uv=.3, epoch=1, iter=4, step=4),
        {
            'freihand/PA-EPE': 20.,
            'step': 1
        },
    ])
    # a test run: its scores beside the text log, and tools/test.py --out
    (demo / 'test' / stamp / 'vis_data').mkdir(parents=True)
    _write_log(demo / 'test' / stamp / f'{stamp}.json', [{
        'freihand/PA-EPE': 19.
    }])
    _write_log(demo / 'test' / 'metrics.json', [{'freihand/PA-EPE': 19.}])
    runs = plot_curves.find_runs(str(demo))
    assert sorted(runs) == ['finetune', 'pretrain', 'test']
    out = str(tmp_path / 'curves.png')
    assert plot_curves.main([str(demo), '--out', out]) == 0
    printed = capsys.readouterr().out
    assert '2 run(s) (finetune, pretrain)' in printed
    assert 'left out demo/test: test scores only' in printed
    # a test run's scores (no step) sit at the run's last iteration
    curves = plot_curves.read_log(
        plot_curves.find_logs(str(demo / 'finetune')) +
        plot_curves.find_logs(str(demo / 'test')))
    assert curves['freihand/PA-EPE'] == [(4, 19.), (4, 20.)]
