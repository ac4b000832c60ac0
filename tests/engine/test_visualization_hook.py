# Copyright (c) peclr_mm authors. All rights reserved.
"""Hand3dVisualizationHook: one picture per ``interval`` test samples,
named after the image and its index, under the run's folder; nothing when
disabled; the first validation sample only, into the backends."""
import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from peclr_mm.engine.visualization_hook import Hand3dVisualizationHook
from peclr_mm.visualization import Hand3dLocalVisualizer
from tests.test_visualization import _sample


def _outputs(tmp_path, n):
    rng = np.random.default_rng(0)
    K = np.array([[400., 0, 112], [0, 400., 112], [0, 0, 1]])
    outs = []
    for i in range(n):
        path = str(tmp_path / f'img{i}.jpg')
        cv2.imwrite(path, np.full((224, 224, 3), 40 * i, np.uint8))
        s = _sample(rng.normal(size=(21, 3)) * 0.02 + [0, 0, 0.5], K)
        s.set_metainfo(dict(img_path=path))
        outs.append(s)
    return outs


def _runner(tmp_path, name):
    return SimpleNamespace(
        visualizer=Hand3dLocalVisualizer(name=name, panel_size=112),
        work_dir=str(tmp_path / 'work'),
        timestamp='20261201_000000',
        test_dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo={})))


def test_every_interval_th_test_sample_is_drawn(tmp_path):
    runner = _runner(tmp_path, 'hook_test_draw')
    hook = Hand3dVisualizationHook(enable=True, interval=2, out_dir='vis')
    hook.before_test(runner)
    outs = _outputs(tmp_path, 5)
    hook.after_test_iter(runner, 0, outputs=outs[:3])
    hook.after_test_iter(runner, 1, outputs=outs[3:])
    folder = tmp_path / 'work' / '20261201_000000' / 'vis'
    assert sorted(os.listdir(folder)) == [
        'img0_000001.jpg', 'img2_000003.jpg', 'img4_000005.jpg'
    ]
    drawn = cv2.imread(str(folder / 'img2_000003.jpg'))
    assert drawn.shape == (112, 3 * 112, 3)


def test_disabled_draws_nothing_and_interval_is_checked(tmp_path):
    runner = _runner(tmp_path, 'hook_test_off')
    hook = Hand3dVisualizationHook(enable=False, out_dir='vis')
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, outputs=_outputs(tmp_path, 2))
    assert not (tmp_path / 'work').exists()
    with pytest.raises(ValueError, match='interval'):
        Hand3dVisualizationHook(interval=0)


def test_validation_draws_the_first_sample_of_the_first_batch(tmp_path):
    runner = _runner(tmp_path, 'hook_test_val')
    calls = []
    runner.visualizer.add_datasample = lambda name, *a, **k: calls.append(
        (name, k['out_file']))
    hook = Hand3dVisualizationHook(enable=True, interval=1)
    outs = _outputs(tmp_path, 3)
    hook.after_val_iter(runner, 0, outputs=outs)
    hook.after_val_iter(runner, 1, outputs=outs)
    assert calls == [('img0.jpg', None)]
