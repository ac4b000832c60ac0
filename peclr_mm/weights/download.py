# Copyright (c) peclr_mm authors. All rights reserved.
"""The one downloader of the package: a file from an ``http(s)://``
address, whole or not at all, bounded in time and size.

The body streams into a hidden temporary file beside the target, which is
renamed into place only when the server's length is reached, a ``.gz`` /
``.tgz`` file decompresses to its end and, when given, the SHA-256 matches.
On any failure, Ctrl-C or SIGTERM the temporary file is removed and the
target is left as it was. ``timeout`` bounds the whole download (a server
that sends a byte every second cannot hold it for ever), ``stall`` each
wait for data, ``max_bytes`` its size; redirects are followed to
``http(s)://`` addresses only. Checkpoint addresses
(:mod:`.loading`) and the released weights (:mod:`.released`) come
through here.
"""
import gzip
import hashlib
import http.client
import os
import os.path as osp
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator, Optional, Tuple
from urllib.parse import urlparse

__all__ = [
    'DownloadError', 'Terminated', 'download', 'sha256_of', 'DEFAULT_TIMEOUT',
    'DEFAULT_STALL', 'DEFAULT_MAX_BYTES'
]

#: Seconds a whole download may take.
DEFAULT_TIMEOUT = 3600.
#: Seconds the server may send nothing.
DEFAULT_STALL = 60.
#: The largest file accepted (the released ResNet-152 archive is ~0.5 GiB).
DEFAULT_MAX_BYTES = 2 << 30
_CHUNK = 1 << 20
_SCHEMES = ('http', 'https')


class DownloadError(OSError):
    """A download is refused or failed; the message names the address."""


class Terminated(SystemExit):
    """SIGTERM during a download, raised so that the temporary file is
    removed as on any other failure; exits with 143 (128 + SIGTERM) as
    the signal's default action would report."""


def sha256_of(path: str) -> str:
    """The SHA-256 of a file, in hexadecimal."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects to ``ftp://`` too; refuse all but
    ``http(s)://``."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlparse(newurl).scheme not in _SCHEMES:
            fp.close()
            raise DownloadError(f'could not download {req.full_url}: '
                                f'redirected to {newurl} (only http(s) '
                                'addresses are followed)')
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (in the main
    thread, where no handler of the program's own is installed)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def handler(signum, frame):
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _check_gzip(path: str, what: str) -> None:
    """Decompress ``path`` to its end, so that a truncated download (whose
    server sent no length) is caught by gzip's own length and CRC."""
    try:
        with gzip.open(path, 'rb') as f:
            while f.read(_CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise DownloadError(f'{what} is truncated or damaged (not a whole '
                            f'gzip stream: {exc})') from exc


def download(url: str,
             dst: str,
             sha256: Optional[str] = None,
             timeout: float = DEFAULT_TIMEOUT,
             stall: float = DEFAULT_STALL,
             max_bytes: int = DEFAULT_MAX_BYTES,
             progress: Optional[Callable[[int, Optional[int]],
                                         None]] = None) -> str:
    """Download ``url`` to ``dst`` whole or not at all (see the module's
    docstring).

    Args:
        url: the ``http(s)://`` address.
        dst: the file to write; its folder is created if missing.
        sha256: the expected SHA-256 (hexadecimal), or None.
        timeout: seconds the whole download may take.
        stall: seconds the server may send nothing (at most ``timeout``).
        max_bytes: the largest body accepted.
        progress: called with the bytes received so far and the total
            (None when the server sends no length) after each chunk.

    Returns:
        str: the file's SHA-256.

    Raises:
        DownloadError: not an ``http(s)://`` address; the server answered
            with an error, could not be reached, redirected elsewhere than
            ``http(s)://``, closed the connection early, took longer than
            ``timeout`` or sent more than ``max_bytes``; the file is
            damaged or differs from ``sha256``. The message names ``url``.
        Terminated: SIGTERM arrived (the temporary file is removed).
    """
    if urlparse(url).scheme not in _SCHEMES:
        raise DownloadError(f'could not download {url}: not an http(s) '
                            'address')
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    deadline = time.monotonic() + timeout
    with _sigterm_raises():
        fd, tmp = tempfile.mkstemp(
            dir=folder, prefix=f'.{osp.basename(dst)}.', suffix='.part')
        try:
            with os.fdopen(fd, 'wb') as f:
                digest, received, total = _stream(url, f, deadline,
                                                  min(stall, timeout),
                                                  max_bytes, progress)
            if total is not None and received != total:
                raise DownloadError(f'download of {url} interrupted: '
                                    f'{received} of {total} bytes received')
            if dst.endswith(('.gz', '.tgz')):
                _check_gzip(tmp, f'download of {url} ({received} bytes)')
            if sha256 and digest != sha256.lower():
                raise DownloadError(f'download of {url}: SHA-256 {digest} '
                                    f'differs from the expected '
                                    f'{sha256.lower()}')
            os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
            os.replace(tmp, dst)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
    return digest


def _read_timeout(response, seconds: float) -> None:
    """Bound the next read of ``response`` (urllib sets the socket's
    timeout once, at connection)."""
    sock = getattr(getattr(response.fp, 'raw', None), '_sock', None)
    if sock is not None:
        sock.settimeout(max(seconds, 1e-3))


def _stream(url: str, f: BinaryIO, deadline: float, stall: float,
            max_bytes: int, progress) -> Tuple[str, int, Optional[int]]:
    request = urllib.request.Request(
        url, headers={'User-Agent': 'peclr_mm-download'})
    opener = urllib.request.build_opener(_HttpRedirectsOnly)
    try:
        response = opener.open(
            request,
            timeout=max(min(stall, deadline - time.monotonic()), 1e-3))
    except DownloadError:
        raise
    except urllib.error.HTTPError as exc:
        raise DownloadError(f'could not download {url}: HTTP {exc.code} '
                            f'{exc.reason}') from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise DownloadError(f'could not download {url}: {reason}') from exc
    digest = hashlib.sha256()
    received = 0
    with response:
        length = response.headers.get('Content-Length')
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise DownloadError(f'refusing {url}: {total} bytes, more than '
                                f'the limit of {max_bytes}')
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                _read_timeout(response, min(stall, left))
                chunk = response.read1(_CHUNK)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                # a reset, a stall, a chunked body cut short
                if time.monotonic() >= deadline:
                    raise DownloadError(
                        f'download of {url} took longer than the timeout '
                        f'({received} bytes received)') from exc
                raise DownloadError(
                    f'download of {url} interrupted after {received} bytes '
                    f'({type(exc).__name__}: {exc})') from exc
            if not chunk:
                break
            received += len(chunk)
            if received > max_bytes:
                raise DownloadError(f'refusing {url}: more than the limit '
                                    f'of {max_bytes} bytes')
            f.write(chunk)
            digest.update(chunk)
            if progress is not None:
                progress(received, total)
    return digest.hexdigest(), received, total
