# Copyright (c) peclr_mm authors. All rights reserved.
"""The released weights' plumbing: downloads whole or not at all, archives
read without extraction (path traversal refused), the metafiles' Weights
agreeing with the registry, and what ``mim download`` reads from them."""
import glob
import hashlib
import http.server
import io
import os
import os.path as osp
import socket
import tarfile
import threading
import time
from contextlib import contextmanager

import pytest
import yaml

from peclr_mm.weights import released
from peclr_mm.weights.download import DownloadError, download
from peclr_mm.weights.names import find_config
from peclr_mm.weights.released import ReleaseError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes); ``server.cut`` maps a path
    to how many bytes are sent before the connection is closed, with the
    whole length announced (``length``) or none (``close``); a body that is
    a ``str`` is a redirect (302) to that address; ``server.trickle`` maps
    a path to the seconds between its bytes."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if isinstance(body, str):
            self.send_response(302)
            self.send_header('Location', body)
            self.end_headers()
            return
        delay = getattr(self.server, 'trickle', {}).get(self.path)
        if body is not None and delay is not None:
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(delay)
            except OSError:  # the client gave up
                pass
            self.close_connection = True
            return
        if body is None:
            self.send_error(404, 'Not Found')
            return
        cut = self.server.cut.get(self.path)
        self.send_response(200)
        if cut is None or cut[1] == 'length':
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut[0]])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@contextmanager
def serve(files, cut=None, trickle=None):
    """An HTTP server on 127.0.0.1 (port 0) in a thread; yields its base
    address (``http://127.0.0.1:PORT``) and the list of requested paths."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.files, httpd.cut, httpd.requests = files, cut or {}, []
    httpd.trickle = trickle or {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}', httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def make_tar(members, compresslevel=1):
    """A ``.tar.gz`` in memory: ``(name, bytes)`` regular files, or
    ``(name, '->', target)`` symbolic links."""
    buf = io.BytesIO()
    with tarfile.open(
            fileobj=buf, mode='w:gz', compresslevel=compresslevel) as tar:
        for item in members:
            info = tarfile.TarInfo(item[0])
            if len(item) == 3:
                info.type, info.linkname = tarfile.SYMTYPE, item[2]
                tar.addfile(info)
            else:
                info.size = len(item[1])
                tar.addfile(info, io.BytesIO(item[1]))
    return buf.getvalue()


def test_download_is_whole_and_hashed(tmp_path):
    body = os.urandom(3 << 20)
    with serve({'/a/w.bin': body}) as (base, _):
        digest = download(f'{base}/a/w.bin', str(tmp_path / 'w.bin'))
    assert (tmp_path / 'w.bin').read_bytes() == body
    assert digest == hashlib.sha256(body).hexdigest()
    assert os.listdir(tmp_path) == ['w.bin']


@pytest.mark.parametrize('mode', ['length', 'close'])
def test_interrupted_download_leaves_nothing(tmp_path, mode):
    """The server closes the connection half way, with the length announced
    (caught by the count) or not (caught by the gzip stream's end)."""
    body = make_tar([('w.pth', os.urandom(1 << 20))])
    dst = tmp_path / 'w.tar.gz'
    with serve({'/w.tar.gz': body}, {'/w.tar.gz': (len(body) // 2, mode)}) \
            as (base, _):
        with pytest.raises(DownloadError) as info:
            download(f'{base}/w.tar.gz', str(dst))
    assert f'{base}/w.tar.gz' in str(info.value)
    assert 'interrupted' in str(info.value) or 'truncated' in str(info.value)
    assert os.listdir(tmp_path) == []


def test_http_error_and_unreachable_name_the_address(tmp_path):
    with serve({}) as (base, _):
        with pytest.raises(
                DownloadError,
                match=rf'could not download {base}/x.tar.gz: '
                r'HTTP 404'):
            download(f'{base}/x.tar.gz', str(tmp_path / 'x'))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    url = f'http://127.0.0.1:{port}/x.tar.gz'
    with pytest.raises(DownloadError, match=f'could not download {url}: '):
        download(url, str(tmp_path / 'x'), timeout=5)
    assert os.listdir(tmp_path) == []


def test_wrong_sha256_leaves_nothing(tmp_path):
    with serve({'/w.bin': b'weights'}) as (base, _):
        with pytest.raises(DownloadError, match='SHA-256 .* differs'):
            download(f'{base}/w.bin', str(tmp_path / 'w.bin'), sha256='0' * 64)
    assert os.listdir(tmp_path) == []


def test_timeout_bounds_the_whole_download(tmp_path):
    """A server that sends a byte every 0.2 s never stalls a read for long,
    yet the download ends at its timeout, leaving nothing."""
    with serve({'/slow.bin': b'x' * 200}, trickle={'/slow.bin': 0.2}) \
            as (base, _):
        start = time.monotonic()
        with pytest.raises(DownloadError, match='longer than the timeout'):
            download(
                f'{base}/slow.bin',
                str(tmp_path / 'slow.bin'),
                timeout=1.,
                stall=1.)
        assert time.monotonic() - start < 3
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('mode', [None, 'close'])
def test_size_limit(tmp_path, mode):
    """A body over ``max_bytes`` is refused: by its announced length
    before reading, or once that many bytes have come."""
    body = os.urandom(3 << 16)
    cut = {} if mode is None else {'/big.bin': (len(body), mode)}
    with serve({'/big.bin': body}, cut) as (base, _):
        with pytest.raises(DownloadError, match='limit of 65536'):
            download(
                f'{base}/big.bin',
                str(tmp_path / 'big.bin'),
                max_bytes=1 << 16)
        download(
            f'{base}/big.bin', str(tmp_path / 'big.bin'), max_bytes=len(body))
    assert os.listdir(tmp_path) == ['big.bin']


def test_redirects_only_to_http(tmp_path):
    with serve({
            '/ok.bin': b'weights',
            '/to-http': '/ok.bin',
            '/to-ftp': 'ftp://127.0.0.1/ok.bin',
            '/to-file': 'file:///etc/passwd'
    }) as (base, requests):
        download(f'{base}/to-http', str(tmp_path / 'w.bin'))
        assert (tmp_path / 'w.bin').read_bytes() == b'weights'
        for path in ('/to-ftp', '/to-file'):
            with pytest.raises(
                    DownloadError,
                    match=f'{base}{path}: (redirected to|HTTP 302.*not '
                    'allowed)'):
                download(f'{base}{path}', str(tmp_path / 'x.bin'))
    assert os.listdir(tmp_path) == ['w.bin']
    with pytest.raises(DownloadError, match='not an http'):
        download('ftp://127.0.0.1/w.bin', str(tmp_path / 'y.bin'))


@pytest.mark.parametrize(
    'members', [
        [('../evil.pth', b'x')],
        [('/tmp/evil.pth', b'x')],
        [('a/../../evil.pth', b'x')],
        [('rn50.pth', b'x'), ('link', '->', '../../etc/passwd')],
    ],
    ids=['parent', 'absolute', 'nested', 'symlink'])
def test_path_traversal_is_refused(tmp_path, members):
    archive = tmp_path / 'bad.tar.gz'
    archive.write_bytes(make_tar(members))
    out = tmp_path / 'out'
    out.mkdir()
    with pytest.raises(ReleaseError, match='path traversal') as info:
        released.read_checkpoint_member(str(archive), str(out))
    assert str(archive) in str(info.value)
    assert os.listdir(out) == []
    assert not (tmp_path.parent / 'evil.pth').exists()


def test_member_is_read_under_a_name_of_our_own(tmp_path):
    archive = tmp_path / 'r.tar.gz'
    archive.write_bytes(
        make_tar([('README', b'r'), ('dir/peclr_rn50_yt3dh_fh.pth', b'w'),
                  ('other.pth', b'o')]))
    path, inner = released.read_checkpoint_member(
        str(archive), str(tmp_path), expected='peclr_rn50_yt3dh_fh.pth')
    assert inner == 'dir/peclr_rn50_yt3dh_fh.pth'
    assert path == str(tmp_path / 'peclr_rn50_yt3dh_fh.pth')
    assert open(path, 'rb').read() == b'w'
    assert not (tmp_path / 'dir').exists()
    with pytest.raises(ReleaseError, match='several checkpoints .*--member'):
        released.read_checkpoint_member(str(archive), str(tmp_path))
    path, _ = released.read_checkpoint_member(
        str(archive), str(tmp_path), member='other.pth')
    assert open(path, 'rb').read() == b'o'


def test_archive_without_checkpoint_names_its_members(tmp_path):
    archive = tmp_path / 'r.tar.gz'
    archive.write_bytes(make_tar([('README.md', b'r'), ('w.bin', b'w')]))
    with pytest.raises(
            ReleaseError,
            match=r'r\.tar\.gz holds no checkpoint .*its members: '
            r'README\.md, w\.bin'):
        released.read_checkpoint_member(str(archive), str(tmp_path))


def test_truncated_or_foreign_archive_is_named(tmp_path):
    body = make_tar([('w.pth', os.urandom(1 << 16))])
    archive = tmp_path / 'cut.tar.gz'
    archive.write_bytes(body[:len(body) // 2])
    with pytest.raises(ReleaseError, match='cut.tar.gz .*(truncated|not a)'):
        released.read_checkpoint_member(str(archive), str(tmp_path))
    archive.write_bytes(b'<html>404</html>')
    with pytest.raises(ReleaseError, match='cut.tar.gz is not a readable'):
        released.read_checkpoint_member(str(archive), str(tmp_path))


@pytest.mark.parametrize('source,name', [
    ('hand25d_resnet50-peclr-released_freihand-224', 'rn50_peclr_yt3d-fh_'
     'pt_fh_ft'),
    ('configs/hand25d/hand25d_resnet152-peclr-released_freihand-224_'
     'submission.py', 'rn152_peclr_yt3d-fh_pt_fh_ft'),
    ('https://x.org/d/peclr_rn152.tar.gz', 'peclr_rn152'),
    ('/data/peclr_rn50_yt3dh_fh.pth', 'peclr_rn50'),
    ('peclr_resnet50_1xb128-100e_freihand-youtube3d-128', 'peclr_rn50'),
    ('hand25d_resnet50_1xb64-100e_freihand-128', None)
])
def test_find_release(source, name):
    release = released.find_release(source)
    assert (release and release.name) == name


def _metafile_models():
    models = {}
    for path in glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')):
        with open(path) as f:
            for model in yaml.safe_load(f)['Models']:
                models[model['Name']] = model
    return models


def test_metafile_weights_agree_with_the_registry():
    """Every metafile Weights is an archive of the release, on the models
    that stand for it, and every release is listed; the configs that load
    the converted weights exist."""
    models = _metafile_models()
    listed = set()
    for name, model in models.items():
        assert 'Weights' not in model.get('Metadata', {}), name
        if 'Weights' not in model:
            # at most the fine-tuning config that starts from an encoder
            release = released.find_release(name)
            assert release is None or (
                release.kind == 'backbone'
                and release.config.endswith(f'/{name}.py')), name
            continue
        release = released.find_release(name)
        assert release is not None and model['Weights'] == release.url, name
        assert model['Converted From']['Weights'] == release.url
        assert osp.isfile(osp.join(ROOT, model['Config']))
        listed.add(release.name)
    assert listed == {r.name for r in released.RELEASES}
    for release in released.RELEASES:
        assert osp.isfile(osp.join(ROOT, release.config))
        assert find_config(release.aliases[0]).endswith(release.aliases[0] +
                                                        '.py')


def test_mim_reads_a_weight_per_released_model():
    """``mim download`` reads ``model_info[config]['weight']``: it was a
    KeyError while Weights sat under Metadata."""
    pytest.importorskip('mim')
    from mim.commands.search import convert2df, select_by
    from modelindex.load_model_index import load
    df = select_by(
        convert2df(load(osp.join(ROOT, 'model-index.yml'))),
        shown_fields=['weight', 'config'])
    info = df.to_dict('index')
    for release in released.RELEASES:
        for alias in release.aliases:
            if alias in info and isinstance(info[alias]['weight'], str):
                assert info[alias]['weight'] == release.url
    name = 'hand25d_resnet50-peclr-released_freihand-224'
    assert info[name]['weight'] == released.RELEASES[0].url
