# Copyright (c) peclr_mm authors. All rights reserved.
"""A run killed after an epoch and resumed continues the same run."""
import random

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from peclr_mm.engine import get_random_states, set_random_states
from peclr_mm.utils.config import name_run
from peclr_mm.weights import safe_torch_load
from tests.conftest import tiny_finetune_cfg


def test_states_round_trip_through_a_safe_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    np.random.normal()  # a cached Gaussian in the state
    torch.manual_seed(3)
    states = get_random_states()
    torch.save({'random_states': states}, tmp_path / 'c.pth')
    expected = (random.random(), np.random.normal(), torch.rand(3))
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    set_random_states(
        safe_torch_load(str(tmp_path / 'c.pth'))['random_states'])
    got = (random.random(), np.random.normal(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1]
    torch.testing.assert_close(got[2], expected[2], rtol=0, atol=0)


def _cfg(root, work, max_epochs, workers=0):
    cfg = tiny_finetune_cfg(root, work, max_epochs=max_epochs)
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.persistent_workers = False
    cfg.randomness = dict(seed=7, deterministic=True)
    cfg.train_cfg.val_interval = 1  # validation between the epochs too
    # runners built in the same second would share one MessageHub
    name_run(cfg, f'{work}_{max_epochs}e')
    return cfg


@pytest.mark.parametrize('workers', [0, 2])
def test_resumed_run_equals_the_uninterrupted_one(synthetic_root, tmp_path,
                                                  workers):
    """Three epochs in one go, and one epoch then a resume to three: the
    same loss at every iteration and the same final weights (the pipeline
    draws rotations, scales, shifts and colour jitter from NumPy)."""
    full = Runner.from_cfg(
        _cfg(synthetic_root, str(tmp_path / 'full'), 3, workers))
    full.train()
    cut = Runner.from_cfg(
        _cfg(synthetic_root, str(tmp_path / 'cut'), 1, workers))
    cut.train()
    cfg = _cfg(synthetic_root, str(tmp_path / 'cut'), 3, workers)
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.epoch == 3
    a = full.message_hub.get_scalar('train/loss').data[0]
    b = resumed.message_hub.get_scalar('train/loss').data[0]
    assert len(a) == len(b) == 3 * len(full.train_dataloader)
    np.testing.assert_array_equal(a, b)
    sa, sb = full.model.state_dict(), resumed.model.state_dict()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0, msg=k)
