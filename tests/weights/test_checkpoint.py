# Copyright (c) peclr_mm authors. All rights reserved.
"""Checkpoints written by a real runner load with weights_only=True."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from peclr_mm.weights import (UnsafeCheckpointError, check_checkpoint_matches,
                              safe_torch_load)
from tests.conftest import tiny_pretrain_cfg


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('pretrain'))
    runner = Runner.from_cfg(tiny_pretrain_cfg(synthetic_root, work, 1))
    runner.train()
    return work


def test_runner_checkpoint_loads_safely_and_resumes(trained, synthetic_root):
    path = os.path.join(trained, 'epoch_1.pth')
    # What mmengine pickles beyond tensors: exactly the allow-listed types.
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # torch's default alone fails
    ckpt = _load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    hub = ckpt['message_hub']['log_scalars']
    assert np.isfinite(hub['train/loss'].mean())
    # Resume through the stock runner from the same work_dir.
    cfg = tiny_pretrain_cfg(synthetic_root, trained, max_epochs=2)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 2
    resumed = safe_torch_load(os.path.join(trained, 'epoch_2.pth'))
    assert resumed['meta']['epoch'] == 2
    # No temporary file is left by the atomic save.
    assert not [f for f in os.listdir(trained) if f.endswith('.tmp')]


def test_stripped_checkpoint_keeps_the_weights_alone(trained, tmp_path):
    from peclr_mm.weights import strip_checkpoint
    src = os.path.join(trained, 'epoch_1.pth')
    dst = str(tmp_path / 'weights.pth')
    full = safe_torch_load(src)
    n = strip_checkpoint(src, dst)
    out = safe_torch_load(dst)
    assert sorted(out) == ['meta', 'state_dict']
    assert n == len(full['state_dict']) > 0
    for k, v in full['state_dict'].items():
        assert torch.equal(out['state_dict'][k], v)
    assert out['meta']['epoch'] == 1
    assert os.path.getsize(dst) < 0.6 * os.path.getsize(src)  # no Adam state
    # a bare state dict has nothing to strip: named, not guessed
    bare = str(tmp_path / 'bare.pth')
    torch.save(full['state_dict'], bare)
    with pytest.raises(ValueError, match=r'bare\.pth.*\'state_dict\''):
        strip_checkpoint(bare, str(tmp_path / 'x.pth'))
    assert not os.path.exists(tmp_path / 'x.pth')


def test_refuses_foreign_types(tmp_path):
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {}, 'hook': os.system}, bad)
    with pytest.raises(
            UnsafeCheckpointError, match=r'bad\.pth.*posix\.system'):
        _load_checkpoint(str(bad), map_location='cpu')


class _Sneaky:
    """Pickles as getattr(np.ndarray, 'tofile'): the attack that a plain
    allow-listed ``getattr`` would let through."""

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def test_getattr_is_served_only_for_history_buffer(tmp_path):
    bad = tmp_path / 'getattr.pth'
    torch.save({'x': _Sneaky()}, bad)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        safe_torch_load(str(bad))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_torch_load(str(tmp_path / 'nope.pth'))


def test_checkpoint_of_another_model_is_refused(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'ok.pth')
    check_checkpoint_matches(model, str(tmp_path / 'ok.pth'))
    other = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    torch.save({'state_dict': other.state_dict()}, tmp_path / 'other.pth')
    with pytest.raises(
            ValueError, match=r'other\.pth does not match.*unexpected'):
        check_checkpoint_matches(model, str(tmp_path / 'other.pth'))
