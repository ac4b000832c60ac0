# Copyright (c) peclr_mm authors. All rights reserved.
"""Config edits of the benchmark tools."""
from mmengine.runner import Runner

from peclr_mm.utils.config import name_run
from tests.conftest import tiny_finetune_cfg


def test_named_runs_keep_their_own_hub_logger_and_visualizer(
        synthetic_root, tmp_path):
    """Two runs of one config built back to back (within one second: the
    same default experiment name) get their own MessageHub, logger and
    visualizer once named."""
    runners = []
    for name in ('a', 'b'):
        cfg = tiny_finetune_cfg(synthetic_root, str(tmp_path / name))
        name_run(cfg, str(tmp_path / name))
        runners.append(Runner.from_cfg(cfg))
    a, b = runners
    for r, name in zip(runners, 'ab'):
        work = str(tmp_path / name)
        assert r.experiment_name.startswith(work + '_')
        assert r.message_hub.instance_name == r.experiment_name
        assert r.logger.instance_name == r.experiment_name
        assert r.visualizer.instance_name == f'visualizer:{work}'
    assert a.message_hub is not b.message_hub
    assert a.visualizer is not b.visualizer


def test_name_run_without_a_visualizer():
    cfg = dict(model=dict())
    name_run(cfg, 'run')
    assert cfg == dict(model=dict(), experiment_name='run')
