# Copyright (c) peclr_mm authors. All rights reserved.
import os

import pytest

from peclr_mm.utils.io import (check_output_path, folder_built_beside,
                               json_written_by)


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


def test_written_by_replaces_only_the_tools_own_output(tmp_path):
    """With ``written_by`` an existing file is replaceable (with
    --overwrite) only when its first JSON entry names the tool; a list,
    another tool's object, a non-JSON file or a link are refused even
    with --overwrite."""
    ours = tmp_path / 'ours.json'
    ours.write_text('{"written_by": "tool", "x": [1, 2]}\n')
    assert json_written_by(str(ours)) == 'tool'
    with pytest.raises(FileExistsError, match='--overwrite'):
        check_output_path(str(ours), [], written_by='tool')
    check_output_path(str(ours), [], overwrite=True, written_by='tool')
    link = tmp_path / 'link.json'
    os.symlink(ours, link)
    foreign = {
        'list.json': '[[0.1, 0.2, 0.3]]\n',
        'other.json': '{"written_by": "other tool"}\n',
        'late.json': '{"x": 1, "written_by": "tool"}\n',
        'image.jpg': '\xff\xd8 not json',
    }
    for name, text in foreign.items():
        (tmp_path / name).write_text(text)
    for path in [link] + [tmp_path / n for n in foreign]:
        assert path == link or json_written_by(str(path)) != 'tool'
        with pytest.raises(FileExistsError, match='not written by tool'):
            check_output_path(str(path), [], overwrite=True, written_by='tool')
    check_output_path(str(tmp_path / 'new.json'), [], written_by='tool')


def test_folder_built_beside_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / 'set'
    with folder_built_beside(str(out)) as tmp:
        assert os.listdir(tmp) == [] and not out.exists()
        (tmp_path / tmp / 'a.json').write_text('1')
    assert os.listdir(out) == ['a.json']
    with pytest.raises(KeyboardInterrupt):
        with folder_built_beside(str(out)) as tmp:
            (tmp_path / tmp / 'b.json').write_text('2')
            raise KeyboardInterrupt
    assert os.listdir(out) == ['a.json']  # the old one, untouched
    with folder_built_beside(str(out)) as tmp:
        (tmp_path / tmp / 'c.json').write_text('3')
    assert os.listdir(out) == ['c.json']
    assert sorted(os.listdir(tmp_path)) == ['set']  # nothing left beside
