# Copyright (c) peclr_mm authors. All rights reserved.
"""A study's state outlives its work folder: saved stripped, restored
checked, never replacing a file."""
import json
import os

import pytest
import torch

from tools.benchmarks.reproduce_state import restore_state, save_state, sha256


def _ckpt(path, epoch):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        dict(
            meta=dict(epoch=epoch),
            state_dict={'backbone.w': torch.full((64, 64), float(epoch))},
            optimizer=dict(state={0: dict(exp_avg=torch.ones(64, 64))})), path)


def _record(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({'freihand/PA-EPE': value}))


def test_state_follows_a_schedule_and_restores(tmp_path):
    work, state = tmp_path / 'work', tmp_path / 'state'
    pre = work / 'pretrain_peclr'
    # a 3-epoch schedule evaluated at epochs 1 and 3, now after epoch 2
    for e in (1, 2):
        _ckpt(pre / f'epoch_{e}.pth', e)
    _record(work / 'finetune' / 'peclr_e1_f0.01_s0' / 'metrics.json', 31.)
    (pre / '20261202_000000' / 'vis_data').mkdir(parents=True)
    (pre / '20261202_000000' / 'vis_data' /
     'scalars.json').write_text('{"step": 50, "time": 0.3, "loss": 4.0}\n')
    assert save_state(str(work), str(state), ['peclr'], [1, 3]) == (4, 0)
    files = json.load(open(state / 'state.json'))['files']
    assert files['pretrain_peclr/epoch_1.pth']['kind'] == 'strip'
    assert files['pretrain_peclr/epoch_2.pth']['kind'] == 'resume'
    assert 'optimizer' not in torch.load(
        state / 'pretrain_peclr' / 'epoch_1.pth', weights_only=True)
    assert 'optimizer' in torch.load(
        state / 'pretrain_peclr' / 'epoch_2.pth', weights_only=True)
    # nothing changed, nothing written
    assert save_state(str(work), str(state), ['peclr'], [1, 3]) == (0, 0)

    # a new machine: the work folder is gone
    fresh = tmp_path / 'fresh'
    assert restore_state(str(state), str(fresh)) == 4
    assert (fresh / 'pretrain_peclr' /
            'last_checkpoint').read_text() == str(fresh / 'pretrain_peclr' /
                                                  'epoch_2.pth')
    assert json.load(
        open(fresh / 'finetune' / 'peclr_e1_f0.01_s0' / 'metrics.json')) == {
            'freihand/PA-EPE': 31.
        }
    w1 = torch.load(
        fresh / 'pretrain_peclr' / 'epoch_1.pth',
        weights_only=True)['state_dict']['backbone.w']
    assert torch.equal(w1, torch.full((64, 64), 1.))

    # the schedule finishes there: its resume checkpoint leaves the state,
    # the evaluated epochs are kept stripped; a file the state did not
    # write is left alone
    (state / 'notes.txt').write_text('mine')
    _ckpt(fresh / 'pretrain_peclr' / 'epoch_3.pth', 3)
    assert save_state(str(fresh), str(state), ['peclr'], [1, 3]) == (1, 1)
    assert sorted(os.listdir(state / 'pretrain_peclr')) == [
        '20261202_000000', 'epoch_1.pth', 'epoch_3.pth'
    ]
    assert (state / 'notes.txt').read_text() == 'mine'
    assert 'optimizer' not in torch.load(
        state / 'pretrain_peclr' / 'epoch_3.pth', weights_only=True)

    # restoring never replaces a file of the work folder
    _record(fresh / 'finetune' / 'peclr_e1_f0.01_s0' / 'metrics.json', 99.)
    assert restore_state(str(state), str(fresh)) == 0
    assert json.load(
        open(fresh / 'finetune' / 'peclr_e1_f0.01_s0' / 'metrics.json')) == {
            'freihand/PA-EPE': 99.
        }


def test_a_damaged_state_is_named(tmp_path):
    work, state = tmp_path / 'work', tmp_path / 'state'
    _ckpt(work / 'pretrain_peclr' / 'epoch_1.pth', 1)
    save_state(str(work), str(state), ['peclr'], [1])
    ckpt = state / 'pretrain_peclr' / 'epoch_1.pth'
    before = sha256(str(ckpt))
    ckpt.write_bytes(ckpt.read_bytes()[:-10])
    assert sha256(str(ckpt)) != before
    with pytest.raises(ValueError, match='epoch_1.pth differs from its'):
        restore_state(str(state), str(tmp_path / 'fresh'))
    os.remove(ckpt)
    with pytest.raises(ValueError, match='epoch_1.pth is listed'):
        restore_state(str(state), str(tmp_path / 'fresh'))
    # no state yet: nothing to restore
    assert restore_state(str(tmp_path / 'none'), str(work)) == 0
