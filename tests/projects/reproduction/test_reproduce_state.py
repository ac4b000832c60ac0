# Copyright (c) peclr_mm authors. All rights reserved.
"""A study's state outlives its work folder: saved stripped, restored
checked, never replacing a file."""
import json
import os

import pytest
import torch

from projects.reproduction.reproduce_state import (check_folders,
                                                   check_resumable, main,
                                                   restore_state, save_state,
                                                   sha256)


def _ckpt(path, epoch, whole=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = dict(
        meta=dict(epoch=epoch),
        state_dict={'backbone.w': torch.full((64, 64), float(epoch))})
    if whole:
        ckpt.update(
            optimizer=dict(state={0: dict(exp_avg=torch.ones(64, 64))}),
            message_hub=dict(runtime_info=dict(epoch=epoch)))
    torch.save(ckpt, path)


def _record(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({'freihand/PA-EPE': value}))


def _read(path):
    return json.loads(path.read_text())


def test_state_follows_a_schedule_and_restores(tmp_path):
    work, state = tmp_path / 'work', tmp_path / 'state'
    pre = work / 'pretrain_peclr'
    # a 3-epoch schedule evaluated at epochs 1 and 3, now after epoch 2
    for e in (1, 2):
        _ckpt(pre / f'epoch_{e}.pth', e)
    run = work / 'finetune' / 'peclr_e1_f0.01_s0' / 'metrics.json'
    _record(run, 31.)
    log = pre / '20261202_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    log.write_text('{"step": 50, "time": 0.3, "loss": 4.0}\n')
    keep = (['peclr'], [1, 3], 3)
    assert save_state(str(work), str(state), *keep) == (4, 0)
    files = _read(state / 'state.json')['files']
    assert files['pretrain_peclr/epoch_1.pth']['kind'] == 'strip'
    assert files['pretrain_peclr/epoch_2.pth']['kind'] == 'resume'
    assert 'optimizer' not in torch.load(
        state / 'pretrain_peclr' / 'epoch_1.pth', weights_only=True)
    assert 'optimizer' in torch.load(
        state / 'pretrain_peclr' / 'epoch_2.pth', weights_only=True)
    # nothing changed, nothing written
    assert save_state(str(work), str(state), *keep) == (0, 0)

    # a new machine: the work folder is gone
    fresh = tmp_path / 'fresh'
    fpre = fresh / 'pretrain_peclr'
    assert restore_state(str(state), str(fresh)) == 4
    assert (fpre / 'last_checkpoint').read_text() == str(fpre / 'epoch_2.pth')
    check_resumable(str(fpre))  # the whole checkpoint is the resume point
    assert _read(fresh / run.relative_to(work)) == {'freihand/PA-EPE': 31.}
    w1 = torch.load(
        fpre / 'epoch_1.pth', weights_only=True)['state_dict']['backbone.w']
    assert torch.equal(w1, torch.full((64, 64), 1.))
    # the restored copies are the state's own: nothing to write back
    assert save_state(str(fresh), str(state), *keep) == (0, 0)

    # the schedule finishes there: its resume checkpoint leaves the state,
    # the evaluated epochs are kept stripped; a file the state did not
    # write is left alone
    (state / 'notes.txt').write_text('mine')
    _ckpt(fpre / 'epoch_3.pth', 3)
    assert save_state(str(fresh), str(state), *keep) == (1, 1)
    assert sorted(os.listdir(state / 'pretrain_peclr')) == [
        '20261202_000000', 'epoch_1.pth', 'epoch_3.pth'
    ]
    assert (state / 'notes.txt').read_text() == 'mine'
    assert 'optimizer' not in torch.load(
        state / 'pretrain_peclr' / 'epoch_3.pth', weights_only=True)

    # restoring never replaces a file of the work folder
    _record(fresh / run.relative_to(work), 99.)
    assert restore_state(str(state), str(fresh)) == 0
    assert _read(fresh / run.relative_to(work)) == {'freihand/PA-EPE': 99.}


def test_another_budgets_schedule_is_left_alone(tmp_path):
    """A budget sharing the folder (its own encoders, an early epoch) keeps
    the other encoders' resume checkpoint; a stripped checkpoint never
    becomes one."""
    work, state = tmp_path / 'work', tmp_path / 'state'
    for e in (3, 4):
        _ckpt(work / 'pretrain_peclr' / f'epoch_{e}.pth', e)
    save_state(str(work), str(state), ['peclr'], [3, 10, 20], 20)
    _ckpt(work / 'pretrain_simhand' / 'epoch_3.pth', 3)
    # its evaluated epoch is its newest: kept whole, once
    assert save_state(str(work), str(state), ['simhand'], [3], 20) == (1, 0)
    files = _read(state / 'state.json')['files']
    assert files['pretrain_simhand/epoch_3.pth']['kind'] == 'resume'
    assert files['pretrain_peclr/epoch_4.pth']['kind'] == 'resume'
    assert (state / 'pretrain_peclr' / 'epoch_4.pth').is_file()
    # a folder whose newest checkpoint is stripped (restored from a state
    # that kept only the weights) has nothing to resume from
    stripped = tmp_path / 'stripped'
    _ckpt(stripped / 'pretrain_peclr' / 'epoch_3.pth', 3, whole=False)
    s2 = tmp_path / 'state2'
    assert save_state(str(stripped), str(s2), ['peclr'], [3], 20) == (1, 0)
    assert _read(
        s2 /
        'state.json')['files']['pretrain_peclr/epoch_3.pth']['kind'] == 'strip'
    with pytest.raises(ValueError, match='epoch_3.pth holds weights only'):
        check_resumable(str(stripped / 'pretrain_peclr'))


def test_a_damaged_or_misplaced_state_is_named(tmp_path):
    work, state = tmp_path / 'work', tmp_path / 'state'
    _ckpt(work / 'pretrain_peclr' / 'epoch_1.pth', 1)
    _record(work / 'ridge' / 'peclr.json', 1.)
    save_state(str(work), str(state), ['peclr'], [1], 1)
    assert main([str(state)]) == 0
    ckpt = state / 'pretrain_peclr' / 'epoch_1.pth'
    before = sha256(str(ckpt))
    ckpt.write_bytes(ckpt.read_bytes()[:-10])
    assert sha256(str(ckpt)) != before
    fresh = tmp_path / 'fresh'
    with pytest.raises(ValueError, match='epoch_1.pth differs from its'):
        restore_state(str(state), str(fresh))
    assert main([str(state)]) == 1  # the command says so too
    assert not fresh.exists()  # every file is checked before any is copied
    os.remove(ckpt)
    with pytest.raises(ValueError, match='epoch_1.pth is listed'):
        restore_state(str(state), str(fresh))
    # no state yet: nothing to restore
    assert restore_state(str(tmp_path / 'none'), str(work)) == 0
    # a state inside the work folder would strip its checkpoints in place
    for bad in (work, work / 'state'):
        with pytest.raises(ValueError, match='must not contain one another'):
            check_folders(str(work), str(bad))
    with pytest.raises(ValueError, match='must not contain one another'):
        save_state(str(work), str(work / 'state'), ['peclr'], [1], 1)


def test_the_data_a_state_was_made_on_are_checked(tmp_path, capsys):
    from projects.reproduction.reproduce_state import check_data
    data, state = tmp_path / 'data', tmp_path / 'state'
    (data / 'training' / 'rgb').mkdir(parents=True)
    for name in ('training_xyz.json', 'evaluation_xyz.json'):
        (data / name).write_text('[[0.1, 0.2, 0.5]]')
    for i in range(3):
        (data / 'training' / 'rgb' / f'{i:08d}.jpg').write_bytes(bytes([i]))
    check_data(str(state), str(data))  # recorded the first time
    recorded = _read(state / 'data.json')
    check_data(str(state), str(data))
    # saving the files keeps the record
    work = tmp_path / 'work'
    _record(work / 'ridge' / 'peclr.json', 1.)
    save_state(str(work), str(state), ['peclr'], [1], 1)
    assert _read(state / 'data.json') == recorded
    # other pixels, same hands: said, not refused
    (data / 'training' / 'rgb' / '00000001.jpg').write_bytes(b'\xff')
    check_data(str(state), str(data))
    assert 'first training images differ' in capsys.readouterr().out
    # other hands: refused
    (data / 'training_xyz.json').write_text('[[0.1, 0.2, 0.6]]')
    with pytest.raises(ValueError, match='annotations differ'):
        check_data(str(state), str(data))


def test_a_folder_behind_the_state_never_moves_it_back(tmp_path):
    """Machine B restored the state at epoch 8; the state has since gone to
    epoch 10 elsewhere. B's save keeps epoch 10 whole (and B's own epoch 8
    is not kept whole); B's restore moves its last_checkpoint forward."""
    a, b, state = tmp_path / 'a', tmp_path / 'b', tmp_path / 'state'
    keep = (['peclr'], [3, 10, 20], 20)
    for e in (3, 8):
        _ckpt(a / 'pretrain_peclr' / f'epoch_{e}.pth', e)
    save_state(str(a), str(state), *keep)
    restore_state(str(state), str(b))
    for e in (9, 10):
        _ckpt(a / 'pretrain_peclr' / f'epoch_{e}.pth', e)
    save_state(str(a), str(state), *keep)
    kinds = {
        k: f['kind']
        for k, f in _read(state / 'state.json')['files'].items()
    }
    assert kinds == {
        'pretrain_peclr/epoch_3.pth': 'strip',
        'pretrain_peclr/epoch_10.pth': 'resume'
    }
    save_state(str(b), str(state), *keep)  # behind: changes nothing
    assert {
        k: f['kind']
        for k, f in _read(state / 'state.json')['files'].items()
    } == kinds
    assert sorted(os.listdir(
        state / 'pretrain_peclr')) == ['epoch_10.pth', 'epoch_3.pth']
    # B's last_checkpoint named epoch 8: the restore points it at 10
    assert restore_state(str(state), str(b)) == 1
    assert (b / 'pretrain_peclr' /
            'last_checkpoint').read_text() == str(b / 'pretrain_peclr' /
                                                  'epoch_10.pth')
