# Copyright (c) peclr_mm authors. All rights reserved.
import filecmp
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap
import time

import cv2
import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_freihand',
        osp.join(ROOT, 'tools', 'make_synthetic_freihand.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


import peclr_synthetic as synthetic  # noqa: E402

N, M, V = 6, 3, 3
JSONS = [
    f'{split}_{key}.json' for split in ('training', 'evaluation')
    for key in ('xyz', 'K', 'scale')
]


def project(xyz, K):
    uv = (K @ xyz.T).T
    return uv[:, :2] / uv[:, 2:]


def load(root, name):
    with open(osp.join(root, name)) as f:
        return np.array(json.load(f), dtype=np.float64)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('syn') / 'freihand')
    res = synthetic.generate_freihand(out, N, M, versions=V, seed=3)
    assert res['num_images'] == N * V + M
    return out


def test_layout(dataset):
    assert sorted(os.listdir(dataset)) == sorted(
        JSONS + ['evaluation', 'training', synthetic.MARKER])
    for split, count in (('training', N * V), ('evaluation', M)):
        folder = osp.join(dataset, split, 'rgb')
        assert sorted(
            os.listdir(folder)) == [f'{i:08d}.jpg' for i in range(count)]
        for name in os.listdir(folder):
            img = cv2.imread(osp.join(folder, name))
            assert img is not None and img.shape == (224, 224, 3)
        num = N if split == 'training' else M
        assert load(dataset, f'{split}_xyz.json').shape == (num, 21, 3)
        assert load(dataset, f'{split}_K.json').shape == (num, 3, 3)
        assert load(dataset, f'{split}_scale.json').shape == (num, )


def test_camera_and_scale(dataset):
    for split in ('training', 'evaluation'):
        xyz = load(dataset, f'{split}_xyz.json')
        K = load(dataset, f'{split}_K.json')
        scale = load(dataset, f'{split}_scale.json')
        bone = np.linalg.norm(xyz[:, 9] - xyz[:, 10], axis=1)
        np.testing.assert_allclose(scale, bone, rtol=1e-6)
        assert np.all((xyz[:, 0, 2] >= 0.4) & (xyz[:, 0, 2] <= 1.0))
        assert np.all((K[:, 0, 0] >= 200) & (K[:, 0, 0] <= 1100))
        np.testing.assert_array_equal(K[:, 0, 0], K[:, 1, 1])
        np.testing.assert_array_equal(K[:, :2, 2], 112.0)
        np.testing.assert_array_equal(K[:, 2], [[0, 0, 1]] * len(K))


def test_sample_hand_plausible():
    for k in range(200):
        xyz, K = synthetic.sample_hand(np.random.default_rng([9, k]))
        assert xyz.shape == (21, 3) and K.shape == (3, 3)
        bones = np.linalg.norm(
            xyz[1:] - xyz[[
                0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18,
                19
            ]],
            axis=1)
        assert np.all((bones > 0.012) & (bones < 0.13))
        assert 0.03 < bones[9] < 0.06  # joints 9-10
        uv = project(xyz, K)
        assert uv.min() >= 0 and uv.max() <= 224
        span = (uv.max(0) - uv.min(0)).max()
        assert 50 < span < 215


def test_closed_hands_are_framed_life_sized():
    """A fist is not blown up to an open hand's size in the image: pixels
    per metre at the wrist stay within what the widest span gives the
    smallest hand of MIN_EXTENT reach (hand size 0.88 at the least)."""
    from peclr_synthetic import hand_model
    bound = hand_model.SPAN_RANGE[1] / (hand_model.MIN_EXTENT * 0.88)
    scale, extent = [], []
    for k in range(300):
        xyz, K = synthetic.sample_hand(np.random.default_rng([10, k]))
        scale.append(K[0, 0] / xyz[0, 2])
        extent.append(np.ptp(xyz[:, :2], axis=0).max())
    scale, extent = np.array(scale), np.array(extent)
    assert scale.max() <= bound * 1.001
    # closed hands exist in the sample and come out smaller in the image
    closed = extent < 0.12
    assert closed.sum() >= 10
    span_px = scale * extent
    assert np.median(span_px[closed]) < np.median(span_px[~closed])


def test_versions_share_the_hand():
    xyz, K = synthetic.sample_hand(np.random.default_rng(0))
    img1, mask1 = synthetic.render_hand(xyz, K, np.random.default_rng(1))
    img2, mask2 = synthetic.render_hand(xyz, K, np.random.default_rng(2))
    np.testing.assert_array_equal(mask1, mask2)
    assert np.abs(img1.astype(int) - img2.astype(int)).mean() > 10


def test_versions_on_disk(dataset):
    for k in range(N):
        imgs = [
            cv2.imread(
                osp.join(dataset, 'training', 'rgb',
                         f'{k + N * v:08d}.jpg')).astype(int) for v in range(V)
        ]
        for v in range(1, V):
            assert np.abs(imgs[0] - imgs[v]).mean() > 10


def test_projections_on_mask():
    on, total = 0, 0
    for k in range(60):
        rng = np.random.default_rng([5, k])
        xyz, K = synthetic.sample_hand(rng)
        img, mask = synthetic.render_hand(xyz, K, rng)
        assert img.shape == (224, 224, 3) and img.dtype == np.uint8
        assert mask.shape == (224, 224) and mask.dtype == np.uint8
        assert 0.01 < (mask > 0).mean() < 0.9
        grown = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        uv = np.round(project(xyz, K)).astype(int)
        uv = np.clip(uv, 0, 223)
        on += int((grown[uv[:, 1], uv[:, 0]] > 0).sum())
        total += len(uv)
    assert on / total >= 0.95


def test_determinism(dataset, tmp_path):
    same = str(tmp_path / 'same')
    synthetic.generate_freihand(same, N, M, versions=V, seed=3, workers=2)
    for name in JSONS:
        assert filecmp.cmp(
            osp.join(dataset, name), osp.join(same, name), shallow=False)
    for split in ('training', 'evaluation'):
        a, b = (osp.join(d, split, 'rgb') for d in (dataset, same))
        match, mismatch, errors = filecmp.cmpfiles(
            a, b, os.listdir(a), shallow=False)
        assert not mismatch and not errors and len(match) > 0
    other = str(tmp_path / 'other')
    synthetic.generate_freihand(other, N, M, versions=V, seed=4)
    assert not filecmp.cmp(
        osp.join(dataset, 'training_xyz.json'),
        osp.join(other, 'training_xyz.json'),
        shallow=False)


def pa_epe_mm(pred, gt):
    """Per-sample PA-EPE with scale, as the FreiHAND scoring does."""
    errors = []
    for p, g in zip(pred, gt):
        p0, g0 = p - p.mean(0), g - g.mean(0)
        p0, g_norm = p0 / np.linalg.norm(p0), np.linalg.norm(g0)
        rot, s = orthogonal_procrustes(p0, g0 / g_norm)
        aligned = p0 @ rot * s * g_norm + g.mean(0)
        errors.append(np.linalg.norm(aligned - g, axis=1).mean())
    return 1000 * float(np.mean(errors))


def test_mean_pose_baseline_is_bad(tmp_path):
    """A predictor that knows where the hand is but not its fingers must
    fail: measured about 40 mm (plain mean) and 26 mm (rotation-aligned
    mean) PA-EPE."""
    out = str(tmp_path / 'base')
    synthetic.generate_freihand(out, 300, 150, versions=1, seed=0)
    train = load(out, 'training_xyz.json')
    gt = load(out, 'evaluation_xyz.json')
    rel = train - train[:, :1]
    mean = rel.mean(0)
    assert pa_epe_mm(mean[None] + gt[:, :1], gt) > 25
    # The best single pose up to rotation: generalised Procrustes mean.
    ref = rel[0] - rel[0].mean(0)
    for _ in range(3):
        aligned = []
        for x in rel - rel.mean(1, keepdims=True):
            rot, _ = orthogonal_procrustes(x, ref)
            aligned.append(x @ rot)
        ref = np.mean(aligned, 0)
    assert pa_epe_mm(ref[None] + gt[:, :1], gt) > 15


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        synthetic.generate_freihand(str(tmp_path / 'x'), -1, 1)
    with pytest.raises(ValueError):
        synthetic.generate_freihand(str(tmp_path / 'x'), 1, 1, seed=-1)
    assert not os.listdir(tmp_path)


def test_generator_imports_without_openmmlab():
    """The generator package imports neither the OpenMMLab stack nor torch
    nor peclr_mm, even when drawing a hand, and its projection and joint
    count are peclr_mm's."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import peclr_synthetic as syn
        xyz, K = syn.sample_hand(np.random.default_rng(0))
        img, mask = syn.render_hand(xyz, K, np.random.default_rng(1))
        assert img.shape == (224, 224, 3) and syn.NUM_JOINTS == 21
        assert 'mmengine' not in sys.modules and 'mmpose' not in sys.modules
        assert 'torch' not in sys.modules and 'peclr_mm' not in sys.modules
        print('ok')
    """)
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'ok'


def test_cli(tmp_path, capsys):
    out = tmp_path / 'cli'
    args = [
        '--out',
        str(out), '--num-train', '2', '--num-eval', '1', '--versions', '2',
        '--seed', '0'
    ]
    # Once as a script from the repository root, as users run it.
    proc = subprocess.run(
        [sys.executable, 'tools/make_synthetic_freihand.py', *args],
        capture_output=True,
        text=True,
        cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert 'images/s' in proc.stdout
    assert len(os.listdir(out / 'training' / 'rgb')) == 4
    assert os.listdir(tmp_path) == ['cli']

    tool = load_tool()
    bigger = args[:3] + ['3'] + args[4:]
    assert tool.main(bigger) != 0
    err = capsys.readouterr().err
    assert 'not empty' in err and '--overwrite' in err
    assert len(os.listdir(out / 'training' / 'rgb')) == 4  # untouched
    assert os.listdir(tmp_path) == ['cli']

    assert tool.main(bigger + ['--overwrite', '--workers', '2']) == 0
    assert 'images/s' in capsys.readouterr().out
    assert len(os.listdir(out / 'training' / 'rgb')) == 6
    assert os.listdir(tmp_path) == ['cli']


def test_overwrite_replaces_only_what_the_generator_wrote(tmp_path):
    """--overwrite refuses folders without the generator's marker and sets
    to which a user added files; those stay untouched."""
    tool = load_tool()
    args = ['--num-train', '1', '--num-eval', '1', '--versions', '1']
    foreign = tmp_path / 'mine'
    foreign.mkdir()
    (foreign / 'notes.txt').write_text('keep me')
    assert tool.main(['--out', str(foreign), '--overwrite', *args]) == 2
    assert (foreign / 'notes.txt').read_text() == 'keep me'
    assert os.listdir(foreign) == ['notes.txt']
    # a set of ours with a file added to it
    ours = tmp_path / 'set'
    assert tool.main(['--out', str(ours), *args]) == 0
    (ours / 'training' / 'rgb' / 'extra.png').write_bytes(b'x')
    with pytest.raises(FileExistsError, match='extra.png'):
        synthetic.generate_freihand(
            str(ours), 1, 1, versions=1, overwrite=True)
    assert (ours / 'training' / 'rgb' / 'extra.png').exists()
    os.remove(ours / 'training' / 'rgb' / 'extra.png')
    assert tool.main(['--out', str(ours), '--overwrite', *args]) == 0
    assert sorted(os.listdir(tmp_path)) == ['mine', 'set']


def test_stale_partial_sets_are_cleaned(tmp_path):
    """A generator killed with SIGKILL leaves its hidden partial folder;
    the next run removes it (and only folders of dead processes that carry
    the marker)."""
    out = tmp_path / 'set'
    proc = subprocess.Popen([
        sys.executable, 'tools/make_synthetic_freihand.py', '--out',
        str(out), '--num-train', '4000', '--num-eval', '1', '--versions', '1'
    ],
                            cwd=ROOT,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    partial = tmp_path / f'.set.partial-{proc.pid}'
    deadline = time.time() + 60
    while not (partial / 'training' / 'rgb').is_dir():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    proc.kill()
    proc.wait()
    assert partial.is_dir() and not out.exists()
    # someone else's hidden folder of the same pattern, without the marker
    other = tmp_path / '.set.partial-999999999'
    other.mkdir()
    (other / 'data.txt').write_text('not ours')
    synthetic.generate_freihand(str(out), 1, 1, versions=1)
    assert not partial.exists()
    assert (other / 'data.txt').exists()
    assert sorted(os.listdir(tmp_path)) == ['.set.partial-999999999', 'set']


@pytest.mark.parametrize('field', ['num_train', 'num_eval'])
def test_empty_splits_are_refused(tmp_path, field):
    counts = dict(num_train=1, num_eval=1)
    counts[field] = 0
    with pytest.raises(ValueError, match=f'{field} must be an integer >= 1'):
        synthetic.generate_freihand(str(tmp_path / 'x'), **counts)
    assert not (tmp_path / 'x').exists()


def test_projection_matches_the_package_camera():
    from peclr_mm.utils.arrays import NUM_JOINTS
    from peclr_mm.utils.camera import project as package_project
    from peclr_synthetic.hand_model import project as generator_project
    xyz, K = synthetic.sample_hand(np.random.default_rng(3))
    np.testing.assert_array_equal(
        generator_project(xyz, K), package_project(xyz, K))
    assert synthetic.NUM_JOINTS == NUM_JOINTS
