# Copyright (c) peclr_mm authors. All rights reserved.
"""No checkpoint lost or mixed: rotation after the new checkpoint is
complete (D1), a work dir held by one run (D2), resume past an empty or
dangling last_checkpoint (D8), and a full disk that names the file."""
import errno
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from peclr_mm.weights.checkpoint_safety import (LOCK_NAME, WorkDirBusyError,
                                                WorkDirLock,
                                                find_latest_checkpoint)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.lin(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _runner(work_dir, max_epochs, resume=False, keep=1):
    data = [torch.randn(2) for _ in range(4)]
    loader = torch.utils.data.DataLoader(
        data, batch_size=2, collate_fn=lambda b: dict(inputs=b))
    return Runner(
        model=_Toy(),
        work_dir=work_dir,
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=1, max_keep_ckpts=keep),
            logger=dict(type='LoggerHook', interval=100)),
        resume=resume,
        default_scope='mmpose',  # as the suite's other tests expect
        experiment_name=f'ckpt_safety_{time.time_ns()}',
        log_level='WARNING')


def test_kill_while_saving_keeps_the_previous_checkpoint(tmp_path):
    """With max_keep_ckpts=1 the old checkpoint goes only after the new one
    and last_checkpoint are complete; a kill during the save leaves the
    previous checkpoint, named by last_checkpoint, to resume from."""
    work = str(tmp_path / 'run')
    runner = _runner(work, max_epochs=3)
    real_save = runner.save_checkpoint

    def save(out_dir, filename, *args, **kwargs):
        if filename == 'epoch_2.pth':
            raise KeyboardInterrupt('killed while saving')
        return real_save(out_dir, filename, *args, **kwargs)

    runner.save_checkpoint = save
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    assert sorted(p for p in os.listdir(work)
                  if p.endswith('.pth')) == ['epoch_1.pth']
    assert find_latest_checkpoint(work) == osp.join(work, 'epoch_1.pth')
    resumed = _runner(work, max_epochs=3, resume=True)
    resumed.train()
    assert resumed.epoch == 3
    # rotation still keeps one: the newest
    assert sorted(p for p in os.listdir(work)
                  if p.endswith('.pth')) == ['epoch_3.pth']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'epoch_3.pth')


@pytest.mark.parametrize('content', ['', 'gone/epoch_9.pth'])
def test_resume_past_an_empty_or_dangling_last_checkpoint(tmp_path, content):
    work = str(tmp_path / 'run')
    _runner(work, max_epochs=2, keep=3).train()
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(content)
    assert find_latest_checkpoint(work) == osp.join(work, 'epoch_2.pth')
    resumed = _runner(work, max_epochs=3, resume=True, keep=3)
    resumed.train()
    assert resumed.epoch == 3
    assert find_latest_checkpoint(str(tmp_path / 'empty')) is None


def test_a_held_work_dir_is_refused_and_a_stale_lock_taken_over(tmp_path):
    work = str(tmp_path / 'run')
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import time; '
         'time.sleep(60)'])
    try:
        os.makedirs(work)
        with open(osp.join(work, LOCK_NAME), 'w') as f:
            f.write(f'{{"pid": {holder.pid}, "host": '
                    f'"{socket.gethostname()}", "started": "now", '
                    '"what": "tools/train.py other.py"}')
        with pytest.raises(
                WorkDirBusyError,
                match=rf'process {holder.pid} on '
                rf'{socket.gethostname()}'):
            WorkDirLock(work).acquire()
        # tools/train.py refuses before it writes anything
        cfg = osp.join(
            ROOT, 'configs', 'hand25d',
            'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')
        res = subprocess.run(
            [sys.executable, 'tools/train.py', cfg, '--work-dir', work],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120)
        assert res.returncode != 0
        assert f'process {holder.pid}' in res.stderr
        assert os.listdir(work) == [LOCK_NAME]
    finally:
        holder.kill()
        holder.wait()
    with WorkDirLock(work) as lock:  # the holder is gone: taken over
        assert lock.held
        assert str(os.getpid()) in open(osp.join(work, LOCK_NAME)).read()
    assert not osp.exists(osp.join(work, LOCK_NAME))


def test_full_disk_names_the_file(tmp_path, monkeypatch):
    from peclr_mm.utils.io import atomic_write_json
    from peclr_mm.weights import atomic_save_checkpoint

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(torch, 'save', full)
    target = str(tmp_path / 'epoch_1.pth')
    with pytest.raises(OSError, match='epoch_1.pth') as info:
        atomic_save_checkpoint({'state_dict': {}}, target)
    assert info.value.errno == errno.ENOSPC
    assert 'No space left on device' in str(info.value)
    assert os.listdir(tmp_path) == []

    monkeypatch.setattr('json.dump', full)
    with pytest.raises(OSError, match='result.json') as info:
        atomic_write_json(str(tmp_path / 'result.json'), {'a': 1})
    assert info.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []
