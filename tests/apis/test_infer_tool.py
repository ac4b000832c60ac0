# Copyright (c) peclr_mm authors. All rights reserved.
"""tools/infer.py: a quick --help, and arguments refused in one line
before any input runs."""
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'infer.py')
DEMO = 'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64'


def _tool():
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import infer
    finally:
        sys.path.pop(0)
    return infer


def test_help_imports_nothing_heavy():
    """--help answers without torch, mmpose or peclr_mm (5.6 s before)."""
    code = ('import sys; sys.argv = ["infer.py", "--help"]; '
            f'sys.path.insert(0, {osp.dirname(TOOL)!r}); import infer\n'
            'try:\n    infer.parse_args()\nexcept SystemExit:\n    pass\n'
            'heavy = [m for m in ("torch", "mmpose", "peclr_mm", "cv2") '
            'if m in sys.modules]\nprint("heavy", heavy)')
    res = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         timeout=60)
    assert 'heavy []' in res.stdout, res.stdout + res.stderr
    assert '--threads' in res.stdout and 'looks like' not in res.stdout
    assert 'score' in res.stdout  # the confidence is documented


@pytest.mark.parametrize('args, message', [
    (['--bone-length', '33.5'], 'looks like millimetres'),
    (['--threads', '0'], '--threads must be >= 1'),
    (['--K', '600', '600', '320', '240'],
     '00000003.jpg: the principal point (cx, cy) = (320, 240) lies outside '
     'the 224x224 image'),
])
def test_bad_arguments_exit_2_in_one_line(args, message, synthetic_root,
                                          tmp_path, capsys):
    img = osp.join(synthetic_root, 'evaluation', 'rgb', '00000003.jpg')
    code = _tool().main([
        DEMO, '', img, '--detector', 'none', '--out-dir',
        str(tmp_path / 'o'), *args
    ])
    err = capsys.readouterr().err
    assert code == 2 and message in err and 'Traceback' not in err
    assert not (tmp_path / 'o' / 'predictions').exists()


def test_every_input_failing_exits_2(tmp_path, capsys):
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    code = _tool().main([
        DEMO, '',
        str(tmp_path / 'broken.jpg'), '--detector', 'none', '--out-dir',
        str(tmp_path / 'o'), '--no-progress'
    ])
    err = capsys.readouterr().err
    assert code == 2 and 'every input failed' in err
