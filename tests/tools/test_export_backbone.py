# Copyright (c) peclr_mm authors. All rights reserved.
"""tools/export_backbone.py: never over its input, over an existing file
only with --overwrite, unsafe or bad checkpoints one line and exit 2."""
import os

import torch

from tools.export_backbone import main


def _checkpoint(path):
    state = {
        'backbone.conv1.weight': torch.ones(2, 3, 1, 1),
        'head.fc.weight': torch.zeros(1, 2)
    }
    torch.save({'state_dict': state, 'meta': {'epoch': 2}}, path)


def test_never_over_the_input_or_another_file(tmp_path, capsys):
    ft = str(tmp_path / 'ft.pth')
    _checkpoint(ft)
    before = open(ft, 'rb').read()
    hard = str(tmp_path / 'hard.pth')
    os.link(ft, hard)
    for out in (ft, hard):
        for extra in ([], ['--overwrite']):
            assert main([ft, out] + extra) == 2
            err = capsys.readouterr().err
            assert err.count('\n') == 1 and f'{out} is the input' in err
    assert open(ft, 'rb').read() == before
    out = tmp_path / 'bb.pth'
    out.write_bytes(b'keep me')
    assert main([ft, str(out)]) == 2
    assert 'bb.pth exists' in capsys.readouterr().err
    assert out.read_bytes() == b'keep me'
    assert main([ft, str(out), '--overwrite']) == 0
    assert list(torch.load(str(out))['state_dict']) == ['conv1.weight']


def test_unsafe_and_bad_checkpoints_one_line(tmp_path, capsys):
    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'hook': os.system}, evil)
    assert main([evil, str(tmp_path / 'out.pth')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1
    assert 'evil.pth' in err
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'\x00' * 10)
    assert main([str(bad), str(tmp_path / 'out.pth')]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'bad.pth' in err
    assert not (tmp_path / 'out.pth').exists()
