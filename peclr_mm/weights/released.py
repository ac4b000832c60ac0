# Copyright (c) peclr_mm authors. All rights reserved.
"""The PeCLR authors' released weights: where they are published, and
fetching, unpacking, converting and checking them for the configs that
load them (``tools/misc/download_released.py``, docs/released_models.md).

Every step leaves either its whole result or nothing: a download
(:func:`~peclr_mm.weights.download.download`: bounded in time and
size, http(s) redirects only) streams into a temporary file beside its
target and is renamed only once it is complete (its length, its gzip
stream and, when given, its SHA-256 checked), and a downloaded archive
that is then refused is removed, never reused; the checkpoint inside an
archive is read from the archive into a temporary folder under a name of
this module's choosing (no member is ever extracted by its own path, and
an archive with a member that points outside its folder is refused); the
converted checkpoint is written beside its target, loaded back with the
allow-listed ``torch.load(weights_only=True)``, compared key for key and
shape for shape with the config's model, and only then put in place, never
over an existing file unless asked.
"""
import os
import os.path as osp
import posixpath
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ..utils.io import is_same_file
from .compare import compare_state_dict, describe_mismatch, model_mismatch
from .converters import IncompatibleWeightsError, convert_released_checkpoint
from .download import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, download, sha256_of
from .loading import (CorruptCheckpointError, UnsafeCheckpointError,
                      safe_torch_load)
from .names import find_config

__all__ = [
    'ReleaseError', 'Release', 'RELEASES', 'RELEASE_BASE_URL',
    'CHECKPOINT_SUFFIXES', 'find_release', 'read_checkpoint_member',
    'check_against_config', 'fetch_released'
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


def _check_sha256(what: str, got: str, expected: Optional[str]) -> None:
    if expected and got != expected.lower():
        raise ReleaseError(f'{what}: SHA-256 {got} differs from the '
                           f'expected {expected.lower()}')


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

    # the modules are registered: importing this module imported peclr_mm
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


def _kept(archive: str) -> bool:
    """Whether ``archive`` is one this module kept (``--keep-archive``):
    its ``.sha256`` record, written beside it then, still matches it. A
    stale record without its archive is removed."""
    record = archive + '.sha256'
    if not osp.isfile(record):
        return False
    if not osp.lexists(archive):
        os.remove(record)
        return False
    with open(record) as f:
        digest = f.read().split(' ', 1)[0]
    return osp.isfile(archive) and not osp.islink(archive) and sha256_of(
        archive) == digest


def _keep(archive: str, digest: str) -> None:
    """Record ``archive`` as kept by this module (``sha256sum`` format)."""
    with open(archive + '.sha256', 'w') as f:
        f.write(f'{digest}  {osp.basename(archive)}\n')


def _discard(archive: str) -> None:
    """Remove an archive of this module and its record."""
    for path in (archive, archive + '.sha256'):
        if osp.lexists(path):
            os.remove(path)


def fetch_released(source: str,
                   out: Optional[str] = None,
                   sha256: Optional[str] = None,
                   config: Optional[str] = None,
                   member: Optional[str] = None,
                   overwrite: bool = False,
                   keep_archive: bool = False,
                   timeout: float = DEFAULT_TIMEOUT,
                   max_bytes: int = DEFAULT_MAX_BYTES,
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
        keep_archive: keep a downloaded archive beside ``out``, with its
            ``.sha256`` record, to be reused by the next call; otherwise
            it is removed once the checkpoint is written. An archive that
            is refused (damaged, of the wrong hash or kind, not fitting
            the config) is removed either way.
        timeout: seconds the whole download may take.
        max_bytes: the largest download accepted.
        progress: the download's progress callback
            (:func:`~peclr_mm.weights.download.download`).
        log: where progress messages go.

    Returns:
        dict: ``out``, ``config``, ``kind``, ``depth``, ``num_tensors``,
        ``source`` (the file converted, ``archive:member`` for an archive)
        and ``sha256`` (of the file given or downloaded).

    Raises:
        ReleaseError: any refusal; the message names the address or file.
        DownloadError: the download failed or was refused (names the
            address).
    """
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
    if local is not None and is_same_file(local, out):
        raise ReleaseError(f'--out {out} is the input itself; choose '
                           'another file')
    if osp.exists(out) and not overwrite:
        raise ReleaseError(f'{out} exists; pass --overwrite to replace it')
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)

    archive = fresh = None  # a download of this module (fresh: this call)
    if url is not None:
        name = posixpath.basename(url.split('?')[0]) or 'download.tar.gz'
        archive = osp.join(folder, name)
        if is_same_file(archive, out):
            raise ReleaseError(f'--out {out} is where {url} is downloaded '
                               'to; choose another file')
        if _kept(archive):
            log(f'using {archive}, kept by an earlier run (delete it to '
                'download again)')
        elif osp.lexists(archive):
            raise ReleaseError(
                f'{archive} exists and was not downloaded by this tool; move '
                'it away, or give it as the source')
        else:
            log(f'downloading {url} to {archive}')
            fresh = download(
                url,
                archive,
                sha256,
                timeout=timeout,
                max_bytes=max_bytes,
                progress=progress)
        local = archive
    try:
        digest = fresh or sha256_of(local)
        _check_sha256(local, digest, sha256)
        written = _convert(local, out, release, config, member, overwrite,
                           folder)
    except BaseException as exc:
        # a refused download is not left to be reused; one kept earlier
        # goes only when refused, not when interrupted
        if archive is not None and (fresh or isinstance(exc, Exception)):
            _discard(archive)
        raise
    if archive is not None:
        if keep_archive:
            _keep(archive, digest)
        else:
            _discard(archive)
    return dict(written, sha256=digest)


def _convert(local: str, out: str, release: Optional[Release],
             config: Optional[str], member: Optional[str], overwrite: bool,
             folder: str) -> dict:
    """Read, convert, check and place the checkpoint of ``local`` (an
    archive or a checkpoint) at ``out``; :func:`fetch_released`'s result
    without ``sha256``."""
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
            result = convert_released_checkpoint(
                path, converted, depth=release.depth if release else None)
            ckpt = safe_torch_load(converted, map_location='cpu')
        except (IncompatibleWeightsError, CorruptCheckpointError,
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
    return dict(
        out=out,
        config=config_path,
        kind=result['kind'],
        depth=result['depth'],
        num_tensors=result['num_tensors'],
        source=shown)
