# Copyright (c) peclr_mm authors. All rights reserved.
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from .dist_worker import tiny_peclr

WORKER = osp.join(osp.dirname(__file__), 'dist_worker.py')


def _model(equivariant=True, scale_aware=False):
    return tiny_peclr(
        head=dict(
            type='EquivariantContrastiveHead',
            equivariant=equivariant,
            scale_aware=scale_aware))


def _data(n=4, size=32, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        s = DataSample()
        s.set_metainfo(
            dict(
                view_theta=rng.uniform(-45, 45, 2).astype(np.float32),
                view_shift=rng.uniform(-.1, .1, (2, 2)).astype(np.float32),
                view_s=rng.uniform(.7, 1.1, 2).astype(np.float32)))
        samples.append(s)
    g = torch.Generator().manual_seed(seed)
    views = [
        torch.randint(0, 255, (n, 3, size, size), generator=g)
        for _ in range(2)
    ]
    return dict(inputs=views, data_samples=samples)


def test_loss_keys_and_modes():
    model = _model()
    data = model.data_preprocessor(_data())
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss', 'pos_sim', 'neg_sim'}
    assert losses['loss'].requires_grad
    simclr = _model(equivariant=False)
    other = simclr(**data, mode='loss')['loss']
    assert not torch.isclose(losses['loss'], other)
    scale = _model(scale_aware=True)(**data, mode='loss')['loss']
    assert not torch.isclose(losses['loss'], scale)
    with pytest.raises(ValueError, match='scale_aware'):
        _model(equivariant=False, scale_aware=True)


def test_missing_geometry_is_reported():
    model = _model()
    data = model.data_preprocessor(_data())
    for s in data['data_samples']:
        s.set_metainfo(dict(view_theta=None))
        del s.view_theta
    with pytest.raises(KeyError, match='view_theta'):
        model(**data, mode='loss')


def test_loss_falls_on_a_fixed_batch():
    model = _model().train()
    data = model.data_preprocessor(_data(n=8))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    values = []
    for _ in range(15):
        loss = model(**data, mode='loss')['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    assert values[-1] < values[0] - 0.1, values


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_processes_match_one(tmp_path):
    """mmengine's pytorch launcher, 2 gloo processes: the same loss and the
    same (DDP-averaged) gradients as 1 process on the same global batch."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    one = tmp_path / 'one.pth'
    subprocess.run([sys.executable, WORKER, str(one)],
                   check=True,
                   env=env,
                   timeout=300)
    two = tmp_path / 'two.pth'
    subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port',
        str(_free_port()), WORKER,
        str(two)
    ],
                   check=True,
                   env=env,
                   timeout=300)
    a = torch.load(one, weights_only=True)
    b = torch.load(two, weights_only=True)
    torch.testing.assert_close(a['loss'], b['loss'], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a['pos_sim'], b['pos_sim'])
    assert a['grads'].keys() == b['grads'].keys()
    for k in a['grads']:
        torch.testing.assert_close(
            a['grads'][k], b['grads'][k], rtol=1e-4, atol=1e-6, msg=k)


def test_model_loss_is_the_public_loss():
    """PeCLR's training loss is ``equivariant_nt_xent`` of its projections
    with the views' packed geometry (and SimCLR's the same without it)."""
    from peclr_mm.models.losses import equivariant_nt_xent
    raw = _data()
    geo = {
        k: torch.from_numpy(
            np.stack([s.metainfo[k] for s in raw['data_samples']]))
        for k in ('view_theta', 'view_shift', 'view_s')
    }
    for equivariant, scale_aware in ((True, False), (True, True), (False,
                                                                   False)):
        model = _model(equivariant, scale_aware).eval()
        data = model.data_preprocessor(_data())
        with torch.no_grad():
            loss = model(**data, mode='loss')['loss']
            z1, z2 = model.project(torch.cat(data['inputs'])).split(4)
        th, sh, sc = geo['view_theta'], geo['view_shift'], geo['view_s']
        if equivariant:
            want = equivariant_nt_xent(
                z1, z2, th[:, 0], th[:, 1], sh[:, 0], sh[:, 1], 0.5,
                *((sc[:, 0], sc[:, 1]) if scale_aware else ()))
        else:
            want = equivariant_nt_xent(z1, z2, None, None, None, None, 0.5)
        torch.testing.assert_close(loss, want, rtol=0, atol=0)


def test_head_without_geometry_is_invariant():
    """Zero rotation and shift undo nothing: the equivariant loss equals
    the invariant one; half of the geometry is refused."""
    from peclr_mm.models.losses import equivariant_nt_xent
    g = torch.Generator().manual_seed(1)
    p1, p2 = torch.randn(2, 6, 16, generator=g)
    zero, shift = torch.zeros(6), torch.zeros(6, 2)
    torch.testing.assert_close(
        equivariant_nt_xent(p1, p2, zero, zero, shift, shift),
        equivariant_nt_xent(p1, p2, None, None, None, None))
    with pytest.raises(ValueError, match='or none'):
        equivariant_nt_xent(p1, p2, zero, None, shift, shift)
