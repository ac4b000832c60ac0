# Copyright (c) peclr_mm authors. All rights reserved.
import os

import pytest

from peclr_mm.utils.io import check_output_path


def test_output_never_over_an_input(tmp_path):
    """The input itself, a symbolic link to it and a hard link to it are
    refused, --overwrite or not; the message names the output."""
    src = tmp_path / 'ft.pth'
    src.write_bytes(b'weights')
    sym, hard = tmp_path / 'sym.pth', tmp_path / 'hard.pth'
    os.symlink(src, sym)
    os.link(src, hard)
    for out in (src, sym, hard, tmp_path / 'sub' / '..' / 'ft.pth'):
        for overwrite in (False, True):
            with pytest.raises(FileExistsError, match='is the input'):
                check_output_path(str(out), [None, str(src)], overwrite)


def test_existing_output_needs_overwrite(tmp_path):
    src, out = tmp_path / 'a.pth', tmp_path / 'b.pth'
    src.write_bytes(b'a')
    check_output_path(str(out), [str(src)])  # a new file: fine
    out.write_bytes(b'b')
    with pytest.raises(FileExistsError, match=r'b\.pth exists.*--overwrite'):
        check_output_path(str(out), [str(src)])
    check_output_path(str(out), [str(src)], overwrite=True)
    dangling = tmp_path / 'dangling.pth'
    os.symlink(tmp_path / 'nowhere', dangling)
    with pytest.raises(FileExistsError, match='exists'):
        check_output_path(str(dangling), [str(src)])
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_output_path(str(tmp_path), [str(src)], overwrite=True)
