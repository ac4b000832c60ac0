# Copyright (c) peclr_mm authors. All rights reserved.
"""peclr_mm/patches.py: each replacement is reported while in force, a
replacement undone is reported as such, and apply() reinstalls it."""
import mmengine.runner.runner as runner_module
import pytest
from mmengine.dist import utils as dist_utils
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import CheckpointLoader

import peclr_mm.patches as patches

ORIGINALS = {
    'checkpoint_saving': (runner_module, 'save_checkpoint'),
    'pytorch_launcher': (dist_utils, '_init_dist_pytorch'),
    'checkpoint_rotation': (CheckpointHook, '_save_checkpoint_with_step'),
    'resume_lookup': (runner_module, 'find_latest_checkpoint'),
}


def test_all_in_force_after_import():
    assert patches.applied() == dict.fromkeys(
        ('checkpoint_loading', 'checkpoint_saving', 'pytorch_launcher',
         'checkpoint_rotation', 'resume_lookup'), True)


@pytest.mark.parametrize('name', sorted(ORIGINALS))
def test_undone_replacement_is_reported_and_reapplied(name, monkeypatch):
    owner, attr = ORIGINALS[name]
    monkeypatch.setattr(owner, attr, lambda *a, **k: None)
    state = patches.applied()
    assert state[name] is False
    assert all(v for k, v in state.items() if k != name)
    patches.apply()
    assert patches.applied()[name] is True


def test_local_scheme_reported_and_reapplied(monkeypatch):
    from peclr_mm.weights import load_from_local_safe
    schemes = dict(CheckpointLoader._schemes)
    schemes[''] = lambda *a, **k: None
    monkeypatch.setattr(CheckpointLoader, '_schemes', schemes)
    assert patches.applied()['checkpoint_loading'] is False
    patches.apply()
    assert CheckpointLoader._schemes[''] is load_from_local_safe
    patches.apply()  # idempotent
    assert all(patches.applied().values())
