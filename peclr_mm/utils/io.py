# Copyright (c) peclr_mm authors. All rights reserved.
"""Files that appear whole or not at all, outputs that never land on their
inputs, and JSON read with errors that name the file (whole, or one
top-level entry at a time)."""
import json
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple

__all__ = [
    'atomic_write', 'atomic_write_json', 'atomic_write_image', 'read_json',
    'iter_json_object', 'named_os_error', 'check_output_path',
    'json_written_by', 'is_same_file', 'folder_built_beside'
]


def is_same_file(a: str, b: str) -> bool:
    """Whether writing path ``a`` would write the file at path ``b``: the
    same path once symbolic links are resolved (whether or not the file
    exists yet), or two names of one existing inode (hard links)."""
    if osp.realpath(a) == osp.realpath(b):
        return True
    try:
        return osp.samefile(a, b)
    except OSError:  # either is missing: they cannot be one file
        return False


def json_written_by(path: str) -> Optional[str]:
    """The ``written_by`` a JSON file names as its first entry (how the
    tools that pass ``written_by`` to :func:`check_output_path` mark their
    outputs), read without loading the whole file.

    Args:
        path: the file.

    Returns:
        str or None: the value, or None for a missing file, a file that
        is not a JSON object or whose first entry is not ``written_by``.
    """
    try:
        for key, value in iter_json_object(path, 'a JSON object', chunk=4096):
            return value if key == 'written_by' else None
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return None


def check_output_path(out: str,
                      inputs: Iterable[Optional[str]],
                      overwrite: bool = False,
                      written_by: Optional[str] = None) -> None:
    """Refuse to write ``out`` over one of the tool's ``inputs`` (always,
    ``overwrite`` or not) or over any existing file unless ``overwrite``.

    Without ``written_by`` a tool cannot tell its own earlier output from
    a file it did not write, so replacing either is the user's explicit
    choice. With ``written_by`` (a JSON output whose first entry is
    ``"written_by": written_by``, see :func:`json_written_by`) only the
    tool's own earlier output may be replaced: any other file (a data
    root's ``evaluation_xyz.json``, say) is refused even with
    ``overwrite``.

    Args:
        out: the file the tool is about to write.
        inputs: the files it reads (``None`` entries are skipped); a
            symbolic or hard link to one of them counts as that file.
        overwrite: whether an existing ``out`` that is no input may be
            replaced (the tools' ``--overwrite``).
        written_by: the mark of the tool's own JSON outputs, or None.

    Raises:
        FileExistsError: ``out`` is an input, exists and not
            ``overwrite``, or exists and is not marked ``written_by``;
            one line naming ``out``.
        IsADirectoryError: ``out`` is a folder.
    """
    for src in inputs:
        if src is not None and is_same_file(out, src):
            raise FileExistsError(
                f'{out} is the input {src}: refusing to write over it '
                '(even with --overwrite); choose another output file')
    if osp.isdir(out):
        raise IsADirectoryError(f'{out} is a folder; expected the path of '
                                'the file to write')
    if not osp.lexists(out):
        return
    if written_by is not None and (osp.islink(out)
                                   or json_written_by(out) != written_by):
        raise FileExistsError(
            f'{out} exists and was not written by {written_by}: refusing '
            'to write over it (even with --overwrite); choose another '
            'output file')
    if not overwrite:
        raise FileExistsError(f'{out} exists: pass --overwrite to replace '
                              'it, or choose another output file')


def named_os_error(exc: OSError, what: str) -> OSError:
    """``exc`` (a full disk, no permission ...) again, its message naming
    ``what`` (e.g. the file being written); same type and errno.

    Args:
        exc: the error caught.
        what: what was being done, e.g. ``'writing PATH'``.

    Returns:
        OSError: a new error of ``exc``'s type and errno, ``'WHAT failed:
        REASON'``, to raise ``from exc``.
    """
    message = f'{what} failed: {exc.strerror or exc}'
    if exc.errno is None:
        return type(exc)(message)
    return type(exc)(exc.errno, message)


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(file_name)`` on a temporary file beside ``path``, then
    move it into place (``os.replace``), so a crash or a kill never leaves
    a truncated ``path``; the temporary file is removed on failure, and an
    ``OSError`` (a full disk, no permission) names ``path``.

    Args:
        path: the file to write; its folder is created if missing.
        write: writes the whole content to the file name it is given.

    Raises:
        OSError: creating, writing or renaming failed; names ``path``.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException as exc:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and path not in str(exc):
            raise named_os_error(exc, f'writing {path}') from exc
        raise


@contextmanager
def folder_built_beside(out: str) -> Iterator[str]:
    """Build a folder beside ``out``, then swap it in whole: ``out`` is at
    every moment the old folder (or nothing) or the new one, never half.

    Yields a fresh, empty, hidden sibling folder ``.NAME.partial-PID`` to
    fill. When the block ends normally it takes ``out``'s place (an
    existing ``out`` is first renamed aside, then removed); when it raises
    (Ctrl-C included) it is removed and ``out`` left as it was. Whether an
    existing ``out`` may be replaced is the caller's to decide, inside the
    block (last, so that nothing made meanwhile is missed).

    Args:
        out: the folder to write.

    Yields:
        str: the folder to build in.
    """
    parent, base = osp.split(osp.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{base}.partial-{os.getpid()}')
    while osp.lexists(tmp):
        tmp += '_'
    os.mkdir(tmp)
    try:
        yield tmp
        if osp.lexists(out):
            old = tmp + '.old'
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_json(path: str, obj, **kwargs) -> None:
    """``json.dump(obj, ..., **kwargs)`` and a final newline to ``path``
    through :func:`atomic_write`.

    Args:
        path: the file to write.
        obj: the JSON-serialisable object.
        **kwargs: passed to ``json.dump`` (e.g. ``indent``).

    Raises:
        OSError: writing failed; names ``path``.
        TypeError: ``obj`` is not JSON-serialisable.
    """

    def dump(name: str) -> None:
        with open(name, 'w') as f:
            json.dump(obj, f, **kwargs)
            f.write('\n')

    atomic_write(path, dump)


def atomic_write_image(path: str, img) -> None:
    """``cv2.imencode`` of ``img`` in the format of ``path``'s extension,
    written through :func:`atomic_write`.

    Raises:
        OSError: encoding or writing failed; names ``path``.
    """
    import cv2
    ext = osp.splitext(path)[1] or '.png'
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise OSError(f'{path}: OpenCV cannot encode a {ext} image')

    def dump(name: str) -> None:
        with open(name, 'wb') as f:
            f.write(buf.tobytes())

    atomic_write(path, dump)


def read_json(path: str, what: str):
    """The parsed JSON at ``path``; a missing file or invalid JSON raises an
    error naming the file and ``what`` it was expected to hold.

    Args:
        path: the JSON file.
        what: what the file should hold, for the error message.

    Returns:
        Any: the parsed content.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: the content is not valid JSON.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing (expected {what})')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: not valid JSON ({exc}); expected '
                         f'{what}') from exc


class _JsonStream:
    """A JSON text read in chunks, decoded value by value."""

    def __init__(self, f, path: str, what: str, chunk: int):
        self.f, self.path, self.what, self.chunk = f, path, what, chunk
        self.buf, self.pos, self.eof = '', 0, False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.f.read(self.chunk)
        if not data:
            self.eof = True
            return False
        if self.pos > self.chunk:  # drop what was consumed
            self.buf, self.pos = self.buf[self.pos:], 0
        self.buf += data
        return True

    def error(self, expected: str) -> ValueError:
        got = self.buf[self.pos:self.pos + 20] or 'the end of the file'
        return ValueError(f'{self.path}: not valid JSON (expected {expected}, '
                          f'got {got!r}); expected {self.what}')

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in ' \t\n\r':
                self.pos += 1
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(repr(char))
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        # a number is complete only where something follows it: read well
        # past its start (objects, arrays and strings end in a delimiter
        # and fail to decode until they are whole)
        while len(self.buf) - self.pos < 1 << 16 and self._more():
            pass
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():  # the value may continue in the next chunk
                    continue
                raise ValueError(f'{self.path}: not valid JSON ({exc}); '
                                 f'expected {self.what}') from exc
            self.pos = end
            return obj


def iter_json_object(path: str,
                     what: str,
                     streamed: Sequence[str] = (),
                     chunk: int = 1 << 22) -> Iterator[Tuple[str, Any]]:
    """The top-level entries of the JSON object at ``path`` as ``(key,
    value)``, in file order; the arrays under ``streamed`` keys come as one
    ``(key, element)`` per element, so a file of gigabytes is read in
    ``chunk``-sized pieces without holding it. Missing files and invalid
    JSON raise errors naming the file and ``what`` it was expected to
    hold.

    Args:
        path: the JSON file, an object at the top level.
        what: what the file should hold, for the error messages.
        streamed: the keys whose arrays come element by element.
        chunk: characters read at a time.

    Yields:
        tuple: ``(key, value)``, or ``(key, element)`` for a streamed
        array.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: the content is not a valid JSON object.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing (expected {what})')
    with open(path) as f:
        s = _JsonStream(f, path, what, chunk)
        s.expect('{')
        if s.peek() == '}':
            return
        while True:
            key = s.value()
            if not isinstance(key, str):
                raise s.error('a key')
            s.expect(':')
            if key in streamed and s.peek() == '[':
                s.pos += 1
                if s.peek() != ']':
                    while True:
                        yield key, s.value()
                        if s.peek() != ',':
                            break
                        s.pos += 1
                s.expect(']')
            else:
                yield key, s.value()
            if s.peek() != ',':
                break
            s.pos += 1
        s.expect('}')
        if s.peek():
            raise s.error('the end of the file')
