# Copyright (c) peclr_mm authors. All rights reserved.
"""An iteration budget on a real runner: exactly N steps, warm-up then
cosine, one checkpoint at the end, and the loss summary of the run."""
import os

import numpy as np
from mmengine.runner import Runner

from projects.reproduction.runs import loss_first_last
from projects.reproduction.schedules import set_iteration_budget
from tests.conftest import tiny_finetune_cfg


def test_runner_stops_at_the_budget(synthetic_root, tmp_path):
    cfg = tiny_finetune_cfg(synthetic_root, str(tmp_path))
    cfg.optim_wrapper.optimizer.lr = 1e-3
    set_iteration_budget(cfg, 9, warmup=4)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 9
    assert [f for f in os.listdir(tmp_path)
            if f.endswith('.pth')] == ['iter_9.pth']
    lr = runner.message_hub.get_scalar('train/lr').data[0]
    assert len(lr) == 9 and lr[0] < lr[3]  # warm-up
    assert np.all(np.diff(lr[4:]) < 0)  # then cosine decay
    summary = loss_first_last(runner.message_hub)
    assert sorted(summary) == sorted(f'{k}_{w}'
                                     for k in ('loss_uv', 'loss_zrel',
                                               'loss_zroot')
                                     for w in ('first', 'last'))
    uv = runner.message_hub.get_scalar('train/loss_uv').data[0]
    assert summary['loss_uv_first'] == np.mean(uv[:2])
    assert summary['loss_uv_last'] == np.mean(uv[-2:])
