# Copyright (c) peclr_mm authors. All rights reserved.
"""The PeCLR authors' released weights: where they are published, and
fetching, unpacking, converting and checking them for the configs that
load them (``tools/misc/download_released.py``, docs/released_models.md).

Every step leaves either its whole result or nothing: a download streams
into a temporary file beside its target and is renamed only once it is
complete (its length, its gzip stream and, when given, its SHA-256
checked); the checkpoint inside an archive is read from the archive into
a temporary folder under a name of this module's choosing (no member is
ever extracted by its own path, and an archive with a member that points
outside its folder is refused); the converted checkpoint is written
beside its target, loaded back with the allow-listed
``torch.load(weights_only=True)``, compared key for key and shape for
shape with the config's model, and only then put in place, never over an
existing file unless asked.
"""
import gzip
import hashlib
import os
import os.path as osp
import posixpath
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ..utils.checkpoint.compare import (compare_state_dict, describe_mismatch,
                                        model_mismatch)
from ..utils.checkpoint.loading import (CorruptCheckpointError,
                                        UnsafeCheckpointError, safe_torch_load)

__all__ = [
    'ReleaseError', 'Release', 'RELEASES', 'RELEASE_BASE_URL',
    'CHECKPOINT_SUFFIXES', 'find_release', 'find_config', 'download',
    'sha256_of', 'read_checkpoint_member', 'check_against_config',
    'fetch_released'
]

#: Where the authors publish their archives (github.com/dahiyaaneesh/peclr,
#: README). Read at call time, so that tests can point it elsewhere.
RELEASE_BASE_URL = 'https://dataset.ait.ethz.ch/downloads/guSEovHBpR/'
#: The file names an archive's checkpoint may have.
CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.ckpt')
_ARCHIVE_SUFFIXES = ('.tar.gz', '.tgz', '.tar')
_CHUNK = 1 << 20


class ReleaseError(RuntimeError):
    """A download, an archive or a converted checkpoint is refused; the
    message names the address or file and what was expected."""


@dataclass(frozen=True)
class Release:
    """One archive of the authors' release.

    Args:
        name: the archive's name without ``.tar.gz``.
        member: the checkpoint inside it.
        kind: ``'model'`` (a fine-tuned ``RN_25D_wMLPref``, converted whole)
            or ``'backbone'`` (a pretrained encoder, keys ``backbone.*``).
        depth: the ResNet depth.
        config: the config that loads the converted checkpoint (the
            released-model config, or the fine-tuning config whose
            ``model.backbone.init_cfg.checkpoint`` takes the encoder).
        out: the converted checkpoint's default file name.
        aliases: the config names (metafile model names) that stand for
            this archive.
    """
    name: str
    member: str
    kind: str
    depth: int
    config: str
    out: str
    aliases: Tuple[str, ...] = field(default=())

    @property
    def archive(self) -> str:
        """The archive's file name."""
        return f'{self.name}.tar.gz'

    @property
    def url(self) -> str:
        """The archive's address under :data:`RELEASE_BASE_URL`."""
        return RELEASE_BASE_URL + self.archive


def _released(depth: int) -> Release:
    config = f'hand25d_resnet{depth}-peclr-released_freihand-224'
    return Release(
        name=f'rn{depth}_peclr_yt3d-fh_pt_fh_ft',
        member=f'rn{depth}_peclr_yt3d-fh_pt_fh_ft.pth',
        kind='model',
        depth=depth,
        config=f'configs/hand25d/{config}.py',
        out=f'rn{depth}_peclr_released.pth',
        aliases=(config, f'{config}_submission'))


def _encoder(depth: int) -> Release:
    finetune = f'hand25d_resnet{depth}-peclr_1xb64-100e_freihand-128'
    return Release(
        name=f'peclr_rn{depth}',
        member=f'peclr_rn{depth}_yt3dh_fh.pth',
        kind='backbone',
        depth=depth,
        config=f'configs/hand25d/{finetune}.py',
        out=f'peclr_rn{depth}_yt3dh_fh_backbone.pth',
        aliases=(f'peclr_resnet{depth}_1xb128-100e_freihand-youtube3d-128',
                 finetune))


#: The four archives: the fine-tuned ResNet-50 and ResNet-152 and their
#: pretrained encoders (PeCLR on YouTube3DHands + FreiHAND).
RELEASES: Tuple[Release, ...] = (_released(50), _released(152), _encoder(50),
                                 _encoder(152))


def _stem(path: str) -> str:
    base = posixpath.basename(path.rstrip('/'))
    for suffix in _ARCHIVE_SUFFIXES + CHECKPOINT_SUFFIXES + ('.py', ):
        if base.endswith(suffix):
            return base[:-len(suffix)]
    return base


def find_release(source: str) -> Optional[Release]:
    """The release a name, config, address or file stands for.

    Args:
        source: an archive's name (``peclr_rn50``, with or without
            ``.tar.gz``), the checkpoint inside it
            (``peclr_rn50_yt3dh_fh.pth``), a config name or path among the
            aliases (``hand25d_resnet50-peclr-released_freihand-224``), or
            an address or path whose file name is one of those.

    Returns:
        Release or None: None when ``source`` names none of them.
    """
    stem = _stem(source.split('?')[0])
    for release in RELEASES:
        if stem in (release.name, _stem(release.member)) + release.aliases:
            return release
    return None


def _config_roots() -> List[str]:
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return [
        osp.join(osp.dirname(package), 'configs'),
        osp.join(package, '.mim', 'configs')
    ]


def find_config(config: str) -> str:
    """The file of a config given by path or by name.

    Args:
        config: a path, or a config's name (``hand25d_resnet50-peclr-
            released_freihand-224``, ``.py`` optional) looked up under the
            checkout's ``configs/`` and the installed package's
            ``.mim/configs``.

    Returns:
        str: the config's path.

    Raises:
        ReleaseError: no such config.
    """
    if osp.isfile(config):
        return config
    name = _stem(config) + '.py'
    for root in _config_roots():
        for folder, _, files in os.walk(root):
            if name in files and '_base_' not in folder:
                return osp.join(folder, name)
    raise ReleaseError(f'config {config} not found (neither a file nor a '
                       'config name under configs/)')


def sha256_of(path: str) -> str:
    """The SHA-256 of a file, in hexadecimal."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(what: str, got: str, expected: Optional[str]) -> None:
    if expected and got != expected.lower():
        raise ReleaseError(f'{what}: SHA-256 {got} differs from the '
                           f'expected {expected.lower()}')


def _check_gzip(path: str, what: str) -> None:
    """Decompress ``path`` to its end, so that a truncated download (whose
    server sent no length) is caught by gzip's own length and CRC."""
    try:
        with gzip.open(path, 'rb') as f:
            while f.read(_CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise ReleaseError(f'{what} is truncated or damaged (not a whole '
                           f'gzip stream: {exc})') from exc


def download(url: str,
             dst: str,
             sha256: Optional[str] = None,
             timeout: float = 60.,
             progress: Optional[Callable[[int, Optional[int]],
                                         None]] = None) -> str:
    """Download ``url`` to ``dst`` whole or not at all.

    The body streams into a temporary file in ``dst``'s folder, which is
    renamed to ``dst`` only when the server's length is reached, a
    ``.gz``/``.tgz`` file decompresses to its end and, when given, the
    SHA-256 matches; on any failure (an interrupted connection, Ctrl-C)
    the temporary file is removed and ``dst`` is left as it was.

    Args:
        url: the ``http(s)://`` address.
        dst: the file to write.
        sha256: the expected SHA-256 (hexadecimal), or None.
        timeout: seconds the connection may stall.
        progress: called with the bytes received so far and the total
            (None when the server sends no length) after each chunk.

    Returns:
        str: the file's SHA-256.

    Raises:
        ReleaseError: the server answered with an error, could not be
            reached, closed the connection early, or the file is damaged
            or differs from ``sha256``; the message names ``url``.
    """
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(dst)}.', suffix='.part')
    try:
        with os.fdopen(fd, 'wb') as f:
            digest, received, total = _stream(url, f, timeout, progress)
        if total is not None and received != total:
            raise ReleaseError(f'download of {url} interrupted: {received} '
                               f'of {total} bytes received')
        if dst.endswith(('.gz', '.tgz')):
            _check_gzip(tmp, f'download of {url} ({received} bytes)')
        _check_sha256(f'download of {url}', digest, sha256)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return digest


def _stream(url, f, timeout, progress) -> Tuple[str, int, Optional[int]]:
    request = urllib.request.Request(
        url, headers={'User-Agent': 'peclr_mm-download-released'})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise ReleaseError(f'could not download {url}: HTTP {exc.code} '
                           f'{exc.reason}') from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise ReleaseError(f'could not download {url}: {reason}') from exc
    digest = hashlib.sha256()
    received = 0
    with response:
        length = response.headers.get('Content-Length')
        total = int(length) if length and length.isdigit() else None
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, ValueError) as exc:  # IncompleteRead, reset
                raise ReleaseError(
                    f'download of {url} interrupted after {received} bytes '
                    f'({type(exc).__name__}: {exc})') from exc
            if not chunk:
                break
            f.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if progress is not None:
                progress(received, total)
    return digest.hexdigest(), received, total


def _escapes(name: str) -> bool:
    """Whether a member's path is absolute or climbs out of its folder."""
    name = name.replace('\\', '/')
    return (name.startswith('/') or re.match(r'^[A-Za-z]:', name) is not None
            or '..' in name.split('/'))


def read_checkpoint_member(archive: str,
                           folder: str,
                           member: Optional[str] = None,
                           expected: Optional[str] = None) -> Tuple[str, str]:
    """Copy the checkpoint inside a tar archive to ``folder``.

    Only the checkpoint's bytes are read, into a file named after the
    member's base name (``[A-Za-z0-9._-]`` only); nothing else is written,
    and no path of the archive is used on disk.

    Args:
        archive: the ``.tar.gz`` (or ``.tgz``, ``.tar``) file.
        folder: an existing folder the checkpoint is copied to.
        member: the member to read (its path in the archive), or None to
            choose: the one whose base name is ``expected``, else the only
            ``.pth``/``.pt``/``.ckpt`` file.
        expected: the base name the release's checkpoint has.

    Returns:
        tuple: the copy's path and the member's path in the archive.

    Raises:
        ReleaseError: the archive is damaged, has a member whose path is
            absolute or leaves its folder (``../``), holds no checkpoint or
            several with none chosen; the message names the archive and the
            members found.
    """
    try:
        tar = tarfile.open(archive, 'r:*')
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ReleaseError(f'{archive} is not a readable .tar.gz archive '
                           f'({exc})') from exc
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise ReleaseError(f'{archive} is truncated or damaged '
                               f'({exc})') from exc
        escaping = [
            m.name for m in members if _escapes(m.name) or (
                (m.issym() or m.islnk()) and _escapes(m.linkname))
        ]
        if escaping:
            raise ReleaseError(
                f'refusing {archive}: member(s) {", ".join(escaping[:5])} '
                'point outside the archive\'s folder (path traversal)')
        names = [m.name for m in members]
        files = [m for m in members if m.isfile()]
        if member is not None:
            chosen = [m for m in files if m.name == member]
            if not chosen:
                raise ReleaseError(
                    f'{archive} has no file {member}; its members: '
                    f'{_listed(names)}')
        else:
            chosen = [m for m in files if m.name.endswith(CHECKPOINT_SUFFIXES)]
            named = [
                m for m in chosen if posixpath.basename(m.name) == expected
            ]
            chosen = named or chosen
            if not chosen:
                raise ReleaseError(
                    f'{archive} holds no checkpoint (no '
                    f'{"/".join(CHECKPOINT_SUFFIXES)} file); its members: '
                    f'{_listed(names)}')
            if len(chosen) > 1:
                raise ReleaseError(
                    f'{archive} holds several checkpoints '
                    f'({_listed([m.name for m in chosen])}); name one with '
                    '--member')
        info = chosen[0]
        base = re.sub(r'[^A-Za-z0-9._-]', '_', posixpath.basename(
            info.name)).lstrip('.') or 'ckpt'
        path = osp.join(folder, base)
        try:
            src = tar.extractfile(info)
            with src, open(path, 'wb') as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise ReleaseError(f'{archive} is truncated or damaged while '
                               f'reading {info.name} ({exc})') from exc
        if osp.getsize(path) != info.size:
            raise ReleaseError(f'{archive}: {info.name} is truncated '
                               f'({osp.getsize(path)} of {info.size} '
                               'bytes)')
    return path, info.name


def _listed(names: List[str], most: int = 10) -> str:
    if not names:
        return 'none'
    more = f' (+{len(names) - most} more)' if len(names) > most else ''
    return ', '.join(names[:most]) + more


def _build_model(config: str, backbone_only: bool):
    """The config's model, or its backbone alone on the meta device
    (shapes only). The whole estimator is built on the CPU: its codec
    computes with tensors when built."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from .. import models  # noqa: F401  registers the modules
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model_cfg = cfg.model
    if model_cfg.get('backbone', {}).get('init_cfg') is not None:
        model_cfg.backbone.init_cfg = None  # nothing to load to compare
    if backbone_only:
        with torch.device('meta'):
            return MODELS.build(model_cfg.backbone)
    return MODELS.build(model_cfg)


def check_against_config(state_dict: Dict, kind: str, config: str) -> None:
    """Refuse converted weights that do not fit the config's model.

    Args:
        state_dict: the converted weights.
        kind: ``'model'`` (compared with the whole model) or
            ``'backbone'`` (keys ``backbone.*``, compared with the model's
            backbone).
        config: the config's path.

    Raises:
        ReleaseError: names the config and the missing, unexpected and
            mis-shaped keys.
    """
    model = _build_model(config, backbone_only=kind != 'model')
    if kind == 'model':
        message = model_mismatch(state_dict, model)
    else:
        expected = {f'backbone.{k}': v for k, v in model.state_dict().items()}
        mismatch = describe_mismatch(*compare_state_dict(state_dict, expected))
        message = (f'does not match the backbone of the config: {mismatch}'
                   if mismatch else '')
    if message:
        raise ReleaseError(f'the converted checkpoint {message} '
                           f'({config})')


_KINDS = dict(model='a fine-tuned model', backbone='a pretrained encoder')


def _default_config(kind: str, depth: int) -> Optional[str]:
    """The config that loads converted weights of a kind and depth, if
    one is shipped."""
    for release in RELEASES:
        if release.kind == kind and release.depth == depth:
            return release.config
    return None


def _is_archive(path: str) -> bool:
    if path.endswith(_ARCHIVE_SUFFIXES):
        return True
    return not path.endswith(CHECKPOINT_SUFFIXES) and tarfile.is_tarfile(path)


def _place(tmp: str, out: str, overwrite: bool) -> None:
    """Move ``tmp`` to ``out``; without ``overwrite`` an existing ``out``
    (even one made meanwhile) is never replaced."""
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # fails if out exists: no window for a race
    except FileExistsError:
        raise ReleaseError(f'{out} exists; pass --overwrite to replace '
                           'it') from None
    except OSError:  # a file system without hard links
        if osp.exists(out):
            raise ReleaseError(f'{out} exists; pass --overwrite to '
                               'replace it') from None
        os.replace(tmp, out)
        return
    os.remove(tmp)


def _same_file(a: str, b: str) -> bool:
    if osp.abspath(a) == osp.abspath(b):
        return True
    return osp.exists(a) and osp.exists(b) and osp.samefile(a, b)


def fetch_released(source: str,
                   out: Optional[str] = None,
                   sha256: Optional[str] = None,
                   config: Optional[str] = None,
                   member: Optional[str] = None,
                   overwrite: bool = False,
                   keep_archive: bool = False,
                   timeout: float = 60.,
                   progress: Optional[Callable[[int, Optional[int]],
                                               None]] = None,
                   log: Callable[[str], None] = print) -> dict:
    """Download (or take), unpack, convert, check and write a released
    checkpoint for the config that loads it.

    Args:
        source: a release or config name (:func:`find_release`), an
            ``http(s)://`` address of an archive or checkpoint, or a local
            ``.tar.gz`` archive or ``.pth``/``.ckpt`` checkpoint.
        out: the output file, or an existing folder (or a path ending in
            ``/``) for the release's default name; None for
            ``checkpoints/`` and that name.
        sha256: the expected SHA-256 of the archive or checkpoint given or
            downloaded.
        config: the config to check against; None for the release's (or,
            for an unknown file, the released config of its depth).
        member: the checkpoint's path inside the archive, when it holds
            several.
        overwrite: replace an existing ``out``.
        keep_archive: keep a downloaded archive beside ``out`` (it is
            reused by the next call); otherwise it is removed once the
            checkpoint is written.
        timeout: seconds a download may stall.
        progress: the download's progress callback (:func:`download`).
        log: where progress messages go.

    Returns:
        dict: ``out``, ``config``, ``kind``, ``depth``, ``num_tensors``,
        ``source`` (the file converted, ``archive:member`` for an archive)
        and ``sha256`` (of the file given or downloaded).

    Raises:
        ReleaseError: any refusal; the message names the address or file.
    """
    from ..models.utils import weight_converters as wc

    release = find_release(source)
    url = source if source.startswith(('http://', 'https://')) else None
    local = None
    if url is None:
        if osp.exists(source):
            local = source
        elif release is None:
            known = ', '.join(
                n for r in RELEASES for n in (r.name, ) + r.aliases)
            raise ReleaseError(
                f'{source}: neither a file, an http(s) address nor a '
                f'released model (known: {known})')
        else:
            url = release.url
    if local is not None and osp.isdir(local):
        raise ReleaseError(f'{local} is a folder; expected a .tar.gz '
                           'archive or a .pth/.ckpt checkpoint')
    if out is None or out.endswith(('/', os.sep)) or osp.isdir(out):
        if release is None:
            raise ReleaseError(
                f'{source} is no known release: give the output file with '
                '--out')
        out = osp.join(out or 'checkpoints', release.out)
    if local is not None and _same_file(local, out):
        raise ReleaseError(f'--out {out} is the input itself; choose '
                           'another file')
    if osp.exists(out) and not overwrite:
        raise ReleaseError(f'{out} exists; pass --overwrite to replace it')
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)

    downloaded = download_digest = None
    if url is not None:
        name = posixpath.basename(url.split('?')[0]) or 'download.tar.gz'
        target = osp.join(folder, name)
        if _same_file(target, out):
            raise ReleaseError(f'--out {out} is where {url} is downloaded '
                               'to; choose another file')
        if osp.isfile(target):
            log(f'using {target}, downloaded before (delete it to download '
                'again)')
        else:
            log(f'downloading {url} to {target}')
            download_digest = download(url, target, sha256, timeout, progress)
            downloaded = target
        local = target
    if downloaded is None:
        digest = sha256_of(local)
        _check_sha256(local, digest, sha256)
    else:
        digest = download_digest

    with tempfile.TemporaryDirectory(dir=folder, prefix='.released.') as tmp:
        if _is_archive(local):
            path, inner = read_checkpoint_member(
                local, tmp, member, release.member if release else None)
            shown = f'{local}:{inner}'
        else:
            path = shown = local
        if config is None and release is not None:
            config = release.config
        converted = osp.join(tmp, 'converted.pth')
        try:
            result = wc.convert_released_checkpoint(
                path, converted, depth=release.depth if release else None)
            ckpt = safe_torch_load(converted, map_location='cpu')
        except (wc.IncompatibleWeightsError, CorruptCheckpointError,
                UnsafeCheckpointError) as exc:
            raise ReleaseError(str(exc).replace(path, shown)) from None
        if release is not None and result['kind'] != release.kind:
            raise ReleaseError(
                f'{shown}: expected {_KINDS[release.kind]} '
                f'({release.member}), found {_KINDS[result["kind"]]}')
        if config is None:
            config = _default_config(result['kind'], result['depth'])
        config_path = find_config(config) if config else None
        if config_path is not None:
            check_against_config(ckpt['state_dict'], result['kind'],
                                 config_path)
        _place(converted, out, overwrite)
    if downloaded is not None and not keep_archive:
        os.remove(downloaded)
    return dict(
        out=out,
        config=config_path,
        kind=result['kind'],
        depth=result['depth'],
        num_tensors=result['num_tensors'],
        source=shown,
        sha256=digest)
