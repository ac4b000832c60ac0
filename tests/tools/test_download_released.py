# Copyright (c) peclr_mm authors. All rights reserved.
"""tools/misc/download_released.py end to end against a local HTTP server
serving stand-ins of the authors' archives: the real key layout of a
ResNet-50 (zeros, so that the archives stay small) under the release's
names, random output layer and root MLP."""
import hashlib
import importlib.util
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from collections import OrderedDict

import pytest
import torch

from peclr_mm.weights import released
from peclr_mm.weights.converters import (convert_released_model,
                                         resnet_state_dict_shapes)
from tests.weights.test_released import make_tar, serve

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RN50 = 'rn50_peclr_yt3d-fh_pt_fh_ft'
CONFIG = 'configs/hand25d/hand25d_resnet50-peclr-released_freihand-224.py'


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'download_released',
        osp.join(ROOT, 'tools', 'misc', 'download_released.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _encoder():
    """A torchvision-named ResNet-50 of zeros (BN variances ones)."""
    sd = OrderedDict()
    for key, shape in resnet_state_dict_shapes(50).items():
        if key.endswith('num_batches_tracked'):
            sd[key] = torch.tensor(0)
        elif key.endswith('running_var'):
            sd[key] = torch.ones(shape)
        else:
            sd[key] = torch.zeros(shape)
    return sd


def _checkpoint_bytes(obj, tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(obj, str(path))
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture(scope='module')
def archives(tmp_path_factory):
    """``{name: (tar.gz bytes, state dict)}``: the fine-tuned RN50 (in a
    folder, beside a README) and the pretrained encoder."""
    tmp = tmp_path_factory.mktemp('release')
    torch.manual_seed(0)
    encoder = _encoder()
    finetuned = OrderedDict(
        (f'backend_model.{k}', v) for k, v in encoder.items())
    finetuned['backend_model.fc.weight'] = torch.randn(64, 2048)
    finetuned['backend_model.fc.bias'] = torch.randn(64)
    dims = {'0': (128, 64), '3': (128, 128), '6': (1, 128)}
    for i, shape in dims.items():
        finetuned[f'zroot_ref.zroot_ref.{i}.weight'] = torch.randn(shape)
        finetuned[f'zroot_ref.zroot_ref.{i}.bias'] = torch.randn(shape[:1])
    for i in ('1', '4'):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            finetuned[f'zroot_ref.zroot_ref.{i}.{name}'] = torch.rand(128)
    fine_bytes = _checkpoint_bytes({'state_dict': finetuned, 'epoch': 3}, tmp)
    enc_bytes = _checkpoint_bytes({'state_dict': encoder}, tmp)
    return {
        RN50: (make_tar([(f'{RN50}/README.txt', b'PeCLR'),
                         (f'{RN50}/{RN50}.pth', fine_bytes)]), finetuned),
        'peclr_rn50':
        (make_tar([('peclr_rn50_yt3dh_fh.pth', enc_bytes)]), encoder),
    }


@pytest.fixture
def site(archives, monkeypatch):
    """The archives served as the authors' site."""
    files = {
        f'/dl/{name}.tar.gz': data
        for name, (data, _) in archives.items()
    }
    with serve(files) as (base, requests):
        monkeypatch.setattr(released, 'RELEASE_BASE_URL', f'{base}/dl/')
        yield base, requests


def test_config_name_to_checked_checkpoint(site, archives, tmp_path, capsys):
    """One command: download, unpack, convert, check and write; then the
    existing output is refused without a download, and replaced with
    --overwrite."""
    base, requests = site
    data, finetuned = archives[RN50]
    digest = hashlib.sha256(data).hexdigest()
    out = tmp_path / 'ckpts' / 'rn50.pth'
    tool = load_tool()
    args = [
        'hand25d_resnet50-peclr-released_freihand-224', '--out',
        str(out), '--sha256', digest
    ]
    assert tool.main(args) == 0
    printed = capsys.readouterr().out
    assert f'{RN50}/{RN50}.pth' in printed and CONFIG in printed
    assert f'python tools/test.py {osp.join(ROOT, CONFIG)}' in printed \
        or f'python tools/test.py {CONFIG}' in printed
    assert requests == [f'/dl/{RN50}.tar.gz']
    assert os.listdir(out.parent) == ['rn50.pth']  # archive removed
    ckpt = torch.load(str(out), weights_only=True)
    expected, depth = convert_released_model({'state_dict': finetuned})
    assert depth == 50 and list(ckpt['state_dict']) == list(expected)
    for key in ('head.regressor.0.weight', 'head.root_refiner.0.weight',
                'backbone.layer4.2.bn3.running_var'):
        assert torch.equal(ckpt['state_dict'][key], expected[key])
    assert ckpt['meta']['source'] == f'{RN50}.pth'

    before = out.read_bytes()
    assert tool.main(args) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'exists; pass --overwrite' in err
    assert out.read_bytes() == before and len(requests) == 1
    assert tool.main(args + ['--overwrite', '--keep-archive']) == 0
    assert set(os.listdir(out.parent)) == {
        f'{RN50}.tar.gz', f'{RN50}.tar.gz.sha256', 'rn50.pth'
    }
    assert tool.main(args + ['--overwrite']) == 0  # the kept one, reused
    assert len(requests) == 2 and os.listdir(out.parent) == ['rn50.pth']


def test_encoder_from_local_archive(archives, tmp_path, capsys):
    """A local .tar.gz (what ``mim download`` fetches) gives the encoder,
    checked against the fine-tuning config's backbone."""
    archive = tmp_path / 'peclr_rn50.tar.gz'
    archive.write_bytes(archives['peclr_rn50'][0])
    out = tmp_path / 'enc.pth'
    assert load_tool().main([str(archive), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'model.backbone.init_cfg.checkpoint=' + str(out) in printed
    state = torch.load(str(out), weights_only=True)['state_dict']
    assert all(k.startswith('backbone.') for k in state)
    assert len(state) == len(archives['peclr_rn50'][1])
    assert archive.exists()  # the user's own file stays


def test_refusals_are_one_line(site, archives, tmp_path, capsys):
    base, _ = site
    tool = load_tool()
    out = str(tmp_path / 'o.pth')

    def error(args):
        assert tool.main(args) == 1
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and err.startswith('error: ')
        return err

    # 404 names the address
    assert f'could not download {base}/dl/missing.tar.gz: HTTP 404' in error(
        [f'{base}/dl/missing.tar.gz', '--out', out])
    # an archive without a checkpoint names itself and its members
    empty = tmp_path / 'empty.tar.gz'
    empty.write_bytes(make_tar([('notes.txt', b'n')]))
    assert f'{empty} holds no checkpoint' in error([str(empty), '--out', out])
    # weights that do not fit the config name it and what differs
    archive = tmp_path / f'{RN50}.tar.gz'
    archive.write_bytes(archives[RN50][0])
    err = error([
        str(archive), '--out', out, '--config',
        'hand25d_resnet152-peclr-released_freihand-224'
    ])
    assert 'does not match the model' in err and 'missing' in err
    assert 'resnet152-peclr-released' in err
    # a wrong hash, an unknown name, the input as output
    assert 'differs from the expected' in error(
        [str(archive), '--out', out, '--sha256', 'ab' * 32])
    assert 'known: rn50_peclr' in error(['rn51_peclr', '--out', out])
    pth = tmp_path / 'w.pth'
    pth.write_bytes(b'x')
    assert 'is the input itself' in error(
        [str(pth), '--out', str(pth), '--overwrite'])
    assert not osp.exists(out)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f'{RN50}.tar.gz', 'empty.tar.gz', 'w.pth'])


def test_refused_archive_is_removed_not_reused(site, archives, tmp_path,
                                               capsys):
    """A downloaded archive refused after the download (here: it does not
    fit the config asked for) is removed, kept one or not, and the next run
    downloads it again; a file of the archive's name that this tool did not
    download is neither reused nor removed."""
    base, requests = site
    tool = load_tool()
    out = tmp_path / 'ckpts' / 'rn50.pth'
    name = 'hand25d_resnet50-peclr-released_freihand-224'
    wrong = ['--config', 'hand25d_resnet152-peclr-released_freihand-224']
    for extra in ([], ['--keep-archive']):
        assert tool.main([name, '--out', str(out)] + wrong + extra) == 1
        assert 'does not match' in capsys.readouterr().err
        assert not out.parent.exists() or os.listdir(out.parent) == []
    assert tool.main([name, '--out', str(out), '--keep-archive']) == 0
    assert len(requests) == 3
    # the kept archive, refused on reuse, goes with its record
    assert tool.main([name, '--out', str(out), '--overwrite'] + wrong) == 1
    assert os.listdir(out.parent) == ['rn50.pth'] and len(requests) == 3
    # a file that only has the archive's name is the user's
    foreign = out.parent / f'{RN50}.tar.gz'
    foreign.write_bytes(b'mine')
    assert tool.main([name, '--out', str(out), '--overwrite']) == 1
    assert 'not downloaded by this tool' in capsys.readouterr().err
    assert foreign.read_bytes() == b'mine' and len(requests) == 3


def test_sigterm_leaves_no_partial_file(archives, tmp_path):
    """SIGTERM during a download removes the hidden ``.part`` file, as an
    error or Ctrl-C does; the exit status says it was terminated."""
    from tests.weights.test_released import serve
    out = tmp_path / 'out'
    out.mkdir()
    data = archives[RN50][0]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    with serve({'/w.tar.gz': data}, trickle={'/w.tar.gz': 0.05}) \
            as (base, _):
        proc = subprocess.Popen([
            sys.executable,
            osp.join(ROOT, 'tools', 'misc', 'download_released.py'),
            f'{base}/w.tar.gz', '--out',
            str(out / 'w.pth')
        ],
                                cwd=ROOT,
                                env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while not any(n.endswith('.part') for n in os.listdir(out)):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.1)
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert os.listdir(out) == []
