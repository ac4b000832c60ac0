# Copyright (c) peclr_mm authors. All rights reserved.
"""Checkpoints from addresses and mmengine's named schemes go through the
same allow-listed load as local files; damaged files are named."""
import functools
import http.server
import os
import threading

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.runner import checkpoint as mmckpt
from mmengine.runner import load_checkpoint

from peclr_mm.weights import (CorruptCheckpointError, UnsafeCheckpointError,
                              safe_torch_load)
from peclr_mm.weights.loading import cache_path


class _Payload:
    """Unpickling this runs ``open(marker, 'w')``: code from a checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


class _Quiet(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``, a fresh hub
    cache, and a marker file that must never appear."""
    www = tmp_path / 'www'
    www.mkdir()
    marker = tmp_path / 'pwned'
    evil = {'state_dict': {}, 'x': _Payload(str(marker))}
    torch.save(evil, www / 'evil.pth')
    good = torch.nn.Linear(3, 2)
    torch.save({'state_dict': good.state_dict()}, www / 'good.pth')
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f'http://127.0.0.1:{httpd.server_address[1]}'
    try:
        yield url, marker, good
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_address_is_loaded_safely(server):
    url, marker, good = server
    with pytest.raises(UnsafeCheckpointError, match=r'evil\.pth.*open'):
        mmckpt._load_checkpoint(f'{url}/evil.pth', map_location='cpu')
    assert not marker.exists()
    # a model's weights from an address load, cached in the hub folder
    model = torch.nn.Linear(3, 2)
    load_checkpoint(model, f'{url}/good.pth', map_location='cpu')
    torch.testing.assert_close(model.weight, good.weight)
    assert os.path.isfile(cache_path(f'{url}/good.pth'))
    assert cache_path(f'{url}/good.pth').startswith(
        os.path.join(torch.hub.get_dir(), 'checkpoints', ''))
    # safe_torch_load takes addresses too (check_checkpoint_matches uses it)
    assert 'state_dict' in safe_torch_load(f'{url}/good.pth')


def _serve(folder):
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f'http://127.0.0.1:{httpd.server_address[1]}'


def test_same_file_name_from_two_servers_is_two_checkpoints(
        tmp_path, monkeypatch):
    """Two servers' ``epoch_12.pth`` (and two paths of one server) are two
    files in the cache: the second is downloaded, not the first reused."""
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    weights = []
    servers = []
    for i in range(2):
        www = tmp_path / f'www{i}'
        (www / 'run').mkdir(parents=True)
        weights.append(torch.full((2, 3), float(i)))
        torch.save({'state_dict': {
            'weight': weights[-1]
        }}, www / 'epoch_12.pth')
        torch.save({'state_dict': {
            'weight': weights[-1] + 10
        }}, www / 'run' / 'epoch_12.pth')
        servers.append(_serve(www))
    try:
        urls = [f'{base}/epoch_12.pth' for _, base in servers]
        urls.append(f'{servers[0][1]}/run/epoch_12.pth')
        loaded = [safe_torch_load(u)['state_dict']['weight'] for u in urls]
        for got, expected in zip(loaded, weights + [weights[0] + 10]):
            torch.testing.assert_close(got, expected)
        assert len({cache_path(u) for u in urls}) == 3
        # cached: a second load needs no server
        for httpd, _ in servers:
            httpd.shutdown()
            httpd.server_close()
        torch.testing.assert_close(
            safe_torch_load(urls[1])['state_dict']['weight'], weights[1])
    finally:
        for httpd, _ in servers:
            httpd.server_close()


def test_init_cfg_from_address_is_loaded_safely(server):
    url, marker, _ = server

    class Net(BaseModule):

        def __init__(self, init_cfg):
            super().__init__(init_cfg)
            self.fc = torch.nn.Linear(3, 2)

    net = Net(dict(type='Pretrained', checkpoint=f'{url}/evil.pth'))
    with pytest.raises(UnsafeCheckpointError):
        net.init_weights()
    assert not marker.exists()


@pytest.mark.parametrize('scheme,table', [
    ('torchvision://', 'get_torchvision_models'),
    ('modelzoo://', 'get_torchvision_models'),
    ('open-mmlab://', 'get_external_models'),
    ('openmmlab://', 'get_external_models'),
    ('mmcls://', 'get_mmcls_models'),
])
def test_named_schemes_are_loaded_safely(server, monkeypatch, scheme, table):
    url, marker, good = server
    monkeypatch.setattr(
        mmckpt, table, lambda: {
            'evil': f'{url}/evil.pth',
            'good': f'{url}/good.pth'
        })
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        mmckpt._load_checkpoint(f'{scheme}evil', map_location='cpu')
    assert not marker.exists()
    ckpt = mmckpt._load_checkpoint(f'{scheme}good', map_location='cpu')
    if scheme != 'mmcls://':  # mmcls keeps only backbone weights, renamed
        torch.testing.assert_close(ckpt['state_dict']['weight'], good.weight)
    with pytest.raises(KeyError, match='no model'):
        mmckpt._load_checkpoint(f'{scheme}missing', map_location='cpu')


def test_unreachable_address_names_it(server):
    url, _, _ = server
    with pytest.raises(OSError, match='could not download.*nothing.pth'):
        safe_torch_load(f'{url}/nothing.pth')


def test_truncated_and_empty_checkpoints_are_named(tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save({'state_dict': torch.nn.Linear(30, 20).state_dict()}, path)
    data = path.read_bytes()
    for name, content in (('half.pth', data[:len(data) // 2]),
                          ('empty.pth', b''), ('text.pth', b'hello'),
                          ('flipped.pth', data[:200] +
                           bytes([data[200] ^ 0xFF]) + data[201:])):
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(CorruptCheckpointError, match=name):
            mmckpt._load_checkpoint(str(bad), map_location='cpu')
    assert safe_torch_load(str(path))['state_dict']['weight'].shape == (20, 30)
