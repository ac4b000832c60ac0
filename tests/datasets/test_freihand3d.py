# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os
import shutil

import numpy as np
import pytest

from peclr_mm.datasets import FreiHand3DDataset, project


def _ds(root, **kw):
    return FreiHand3DDataset(data_root=root, pipeline=[], **kw)


def test_indices_and_versions(synthetic_root):
    ds = _ds(synthetic_root)
    assert len(ds) == 48  # 24 annotations x 2 versions
    xyz = np.array(
        json.load(open(os.path.join(synthetic_root, 'training_xyz.json'))))
    K = np.array(
        json.load(open(os.path.join(synthetic_root, 'training_K.json'))))
    for i in (0, 5, 24, 47):
        info = ds.get_data_info(i)
        k, v = info['sample_id'], info['version']
        assert info['img_id'] == k + 24 * v
        assert info['img_path'].endswith(f'{k + 24 * v:08d}.jpg')
        assert os.path.isfile(info['img_path'])
        np.testing.assert_allclose(info['keypoints_3d'][0], xyz[k], rtol=1e-6)
        uvw = xyz[k] @ K[k].T
        np.testing.assert_allclose(
            info['keypoints'][0], uvw[:, :2] / uvw[:, 2:], rtol=1e-5)
        lo, hi = info['keypoints'][0].min(0), info['keypoints'][0].max(0)
        np.testing.assert_allclose(info['bbox'][0], np.r_[lo, hi])
        assert info['bone_length'] == pytest.approx(
            np.linalg.norm(xyz[k][9] - xyz[k][10]), rel=1e-5)
    only1 = _ds(synthetic_root, versions=[1])
    assert len(only1) == 24 and only1.get_data_info(0)['img_id'] == 24
    ev = _ds(synthetic_root, split='evaluation')
    assert len(ev) == 8 and ev.get_data_info(3)['version'] == 0
    assert ds.metainfo['num_keypoints'] == 21


def test_subsets_are_seeded(synthetic_root):
    a = _ds(synthetic_root, subset=0.25, subset_seed=1, versions=[0])
    b = _ds(synthetic_root, subset=0.25, subset_seed=1, versions=[0])
    c = _ds(synthetic_root, subset=0.25, subset_seed=2, versions=[0])
    ids = [a.get_data_info(i)['sample_id'] for i in range(len(a))]
    assert len(a) == 6
    assert ids == [b.get_data_info(i)['sample_id'] for i in range(len(b))]
    assert ids != [c.get_data_info(i)['sample_id'] for i in range(len(c))]
    # All versions of a kept annotation are kept.
    both = _ds(synthetic_root, subset=5, subset_seed=1)
    assert len(both) == 10
    with pytest.raises(ValueError, match='subset count'):
        _ds(synthetic_root, subset=100)
    with pytest.raises(ValueError, match='versions'):
        _ds(synthetic_root, versions=[2])


def test_unlabeled_mode(synthetic_root):
    info = _ds(synthetic_root, with_labels=False).get_data_info(0)
    assert 'keypoints' not in info and 'K' not in info


def test_projection_helper():
    xyz = np.array([[0.1, -0.2, 2.0]])
    K = np.array([[100., 0, 10], [0, 200., 20], [0, 0, 1]])
    np.testing.assert_allclose(project(xyz, K), [[15., 0.]])


@pytest.fixture
def broken(synthetic_root, tmp_path):
    root = tmp_path / 'fh'
    shutil.copytree(synthetic_root, root)
    return root


def _edit(path, fn):
    data = json.load(open(path))
    json.dump(fn(data), open(path, 'w'))


def test_missing_annotation_file(broken):
    os.remove(broken / 'training_K.json')
    with pytest.raises(FileNotFoundError, match='training_K.json'):
        _ds(str(broken))


def test_mismatched_lengths(broken):
    _edit(broken / 'training_scale.json', lambda d: d[:-1])
    with pytest.raises(
            ValueError, match=r'disagree.*training_scale.json has 23'):
        _ds(str(broken))


def test_wrong_shaped_K(broken):
    _edit(broken / 'training_K.json', lambda d: [k[:2] for k in d])
    with pytest.raises(ValueError, match=r'training_K.json.*field K.*3, 3'):
        _ds(str(broken))


def test_wrong_shaped_xyz(broken):
    _edit(broken / 'training_xyz.json', lambda d: [x[:20] for x in d])
    with pytest.raises(ValueError, match=r'training_xyz.json.*21, 3'):
        _ds(str(broken))


def test_images_do_not_fit_annotations(broken):
    os.remove(broken / 'training' / 'rgb' / '00000003.jpg')
    with pytest.raises(ValueError, match='not a multiple'):
        _ds(str(broken))


def test_corrupt_image_names_the_file(broken):
    """A file that exists but does not decode is called corrupt (mmpose's
    own message asks whether it exists); a missing one is called missing."""
    from peclr_mm.datasets.transforms import LoadHandImage
    path = broken / 'training' / 'rgb' / '00000001.jpg'
    path.write_bytes(b'not a jpeg')
    info = _ds(str(broken)).get_data_info(1)
    with pytest.raises(
            OSError, match=r'corrupt or unreadable image .*00000001.jpg'):
        LoadHandImage()(info)
    (broken / 'training' / 'rgb' / '00000002.jpg').write_bytes(b'')
    with pytest.raises(OSError, match='corrupt or unreadable.*00000002'):
        LoadHandImage()(_ds(str(broken)).get_data_info(2))
    os.remove(broken / 'training' / 'rgb' / '00000003.jpg')
    info = _ds(str(broken), num_versions=2).get_data_info(3)
    with pytest.raises(FileNotFoundError, match='00000003.jpg does not'):
        LoadHandImage()(info)
    good = LoadHandImage()(_ds(str(broken), num_versions=2).get_data_info(0))
    assert good['img'].shape == (224, 224, 3)


def test_image_count_looks_for_the_exact_names(broken):
    """Stray files do not count as images; a renamed image is reported by
    the names that are missing."""
    rgb = broken / 'training' / 'rgb'
    for i in range(24):  # one version's worth of stray pictures
        (rgb / f'stray_{i}.png').write_bytes(b'x')
    assert len(_ds(str(broken))) == 48
    os.rename(rgb / '00000005.jpg', rgb / '00000099.jpg')
    with pytest.raises(ValueError, match=r'lacks 1 .*00000005\.jpg'):
        _ds(str(broken))


def _check_dataset_tool():
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    spec = importlib.util.spec_from_file_location(
        'check_dataset', os.path.join(root, 'tools', 'misc',
                                      'check_dataset.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_check_dataset_lists_bad_images(broken, capsys):
    tool = _check_dataset_tool()
    assert tool.main([str(broken)]) == 0
    assert 'training: 48 images, 0 bad' in capsys.readouterr().err
    (broken / 'training' / 'rgb' / '00000007.jpg').write_bytes(b'garbage')
    (broken / 'evaluation' / 'rgb' / '00000001.jpg').write_bytes(b'')
    data = (broken / 'training' / 'rgb' / '00000009.jpg').read_bytes()
    (broken / 'training' / 'rgb' / '00000009.jpg').write_bytes(data[:200])
    assert tool.main([str(broken), '--workers', '2']) == 1
    out, err = capsys.readouterr()
    bad = sorted(line.split(':')[0] for line in out.splitlines())
    assert [os.path.basename(b)
            for b in bad] == ['00000001.jpg', '00000007.jpg', '00000009.jpg']
    assert 'training: 48 images, 2 bad' in err
    assert 'evaluation: 8 images, 1 bad' in err
    os.remove(broken / 'training' / 'rgb' / '00000003.jpg')
    assert tool.main([str(broken), '--splits', 'training']) == 2
    assert 'not a multiple' in capsys.readouterr().err


def test_evaluation_labels_from_their_own_folder(broken, tmp_path):
    """FreiHAND_pub_v2_eval.zip unpacked into its own folder: the joints
    come from ann_root, K and scale from the data root."""
    eval_dir = tmp_path / 'FreiHAND_pub_v2_eval'
    eval_dir.mkdir()
    shutil.move(str(broken / 'evaluation_xyz.json'), eval_dir)
    with pytest.raises(FileNotFoundError, match='evaluation_xyz.json'):
        _ds(str(broken), split='evaluation')
    ds = _ds(str(broken), split='evaluation', ann_root=str(eval_dir))
    assert len(ds) == 8
    xyz = json.load(open(eval_dir / 'evaluation_xyz.json'))
    np.testing.assert_allclose(
        ds.get_data_info(3)['keypoints_3d'][0], xyz[3], rtol=1e-6)
    os.remove(broken / 'evaluation_K.json')
    with pytest.raises(
            FileNotFoundError,
            match=r'evaluation_K.json is missing: looked in'):
        _ds(str(broken), split='evaluation', ann_root=str(eval_dir))


def test_camera_only_labels_for_the_server_split(broken):
    """with_labels='camera' needs no joints: K and bone length only."""
    os.remove(broken / 'evaluation_xyz.json')
    with pytest.raises(FileNotFoundError, match='evaluation_xyz.json'):
        _ds(str(broken), split='evaluation')
    ds = _ds(str(broken), split='evaluation', with_labels='camera')
    info = ds.get_data_info(5)
    K = json.load(open(broken / 'evaluation_K.json'))[5]
    scale = json.load(open(broken / 'evaluation_scale.json'))[5]
    np.testing.assert_allclose(info['K'], K, rtol=1e-6)
    assert info['bone_length'] == pytest.approx(scale)
    assert 'keypoints' not in info and 'keypoints_3d' not in info
    with pytest.raises(ValueError, match="True, False or 'camera'"):
        _ds(str(broken), split='evaluation', with_labels='joints')


def test_peclr_split_matches_its_reference():
    """The indices of scikit-learn's train_test_split(np.arange(32560),
    train_size=0.9, random_state=5), as PeCLR's F_DB draws them (values
    recorded with scikit-learn 1.5.2, which the project does not need)."""
    from peclr_mm.datasets import peclr_split
    train, val = peclr_split(32560, 'train'), peclr_split(32560, 'val')
    assert len(train) == 29304 and len(val) == 3256
    assert val[:6].tolist() == [5, 19, 21, 39, 86, 111]
    assert val[-3:].tolist() == [32527, 32528, 32534]
    assert int(val.sum()) == 52735085
    assert len(np.union1d(train, val)) == 32560


def test_peclr_split_option(synthetic_root):
    from peclr_mm.datasets import peclr_split
    train = _ds(synthetic_root, peclr_split='train')
    val = _ds(synthetic_root, peclr_split='val')
    ids = {
        d.get_data_info(i)['sample_id']
        for d in (val, )
        for i in range(len(d))
    }
    assert sorted(ids) == peclr_split(24, 'val').tolist()
    assert len(train) + len(val) == 48  # both versions of each annotation
    half = _ds(synthetic_root, peclr_split='train', subset=0.5)
    kept = {half.get_data_info(i)['sample_id'] for i in range(len(half))}
    assert kept <= set(peclr_split(24, 'train').tolist())
    with pytest.raises(ValueError, match='training split'):
        _ds(synthetic_root, split='evaluation', peclr_split='val')


def test_random_version_loads_the_same_hand_in_another_version(synthetic_root):
    """Each view of a pair gets a version of its own hand: the file
    ``k + N v``, decoded, with the hand's geometry unchanged."""
    import cv2

    from peclr_mm.datasets.transforms import (LoadHandImage, LoadRandomVersion,
                                              MultiViewWithGeometry)
    ds = _ds(synthetic_root, versions=[0])
    info = ds.get_data_info(5)
    assert (info['num_annotations'], info['num_versions']) == (24, 2)
    np.random.seed(0)
    seen = set()
    for _ in range(12):
        out = LoadRandomVersion()(dict(info))
        v = out['version']
        seen.add(v)
        assert out['img_id'] == 5 + 24 * v
        expected = cv2.imread(
            os.path.join(synthetic_root, 'training', 'rgb',
                         f'{5 + 24 * v:08d}.jpg'))
        np.testing.assert_array_equal(out['img'], expected)
        np.testing.assert_array_equal(out['keypoints'], info['keypoints'])
    assert seen == {0, 1}
    # the two versions are different pictures of the same hand
    a = cv2.imread(
        os.path.join(synthetic_root, 'training', 'rgb',
                     '00000005.jpg')).astype(int)
    b = cv2.imread(
        os.path.join(synthetic_root, 'training', 'rgb',
                     '00000029.jpg')).astype(int)
    assert np.abs(a - b).mean() > 10
    # prob 0 keeps the loaded image
    loaded = LoadHandImage()(dict(info))
    kept = LoadRandomVersion(prob=0.)(loaded)
    assert kept['img'] is loaded['img'] and kept['version'] == 0
    # inside the view pipeline each view draws its own version
    mv = MultiViewWithGeometry(
        transforms=[
            dict(type='LoadRandomVersion'),
            dict(type='HandCanonicalCrop', input_size=32, padding=1.0)
        ],
        num_views=2)
    versions = set()
    for _ in range(10):
        out = mv(LoadHandImage()(dict(info)))
        versions.add(tuple(v['img'].mean() for v in out['views']))
    assert any(x != y for x, y in versions)
    with pytest.raises(KeyError, match='num_versions'):
        LoadRandomVersion()(dict(img_path='x.jpg', sample_id=0))
    with pytest.raises(ValueError, match='prob'):
        LoadRandomVersion(prob=2.)


def test_use_cross_version_views_edits_a_pretraining_config():
    from mmengine.config import Config

    from peclr_mm.utils.config import use_cross_version_views
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    cfg = Config.fromfile(
        os.path.join(root, 'configs', 'peclr',
                     'peclr_resnet18-2stage_1xb32-1e_synthetic-64.py'))
    use_cross_version_views(cfg)
    use_cross_version_views(cfg)  # idempotent
    dataset = cfg.train_dataloader.dataset
    views = [
        t for t in dataset.pipeline if t['type'] == 'MultiViewWithGeometry'
    ][0]['transforms']
    assert [t['type']
            for t in views[:2]] == ['LoadRandomVersion', 'HandCanonicalCrop']
    assert dataset.versions == [0]
    # every view decodes its own version: no decoding ahead of the views
    assert [t['type'] for t in dataset.pipeline
            ] == ['MultiViewWithGeometry', 'PackPeCLRInputs']
    use_cross_version_views(cfg, cache_mib=64)
    assert views[0]['cache_mib'] == 64
    ft = Config.fromfile(
        os.path.join(
            root, 'configs', 'hand25d',
            'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py'))
    with pytest.raises(ValueError, match='MultiViewWithGeometry'):
        use_cross_version_views(ft)


@pytest.mark.parametrize('name, edit, expected', [
    ('negative focal (D3)', lambda K: [[-K[0][0], 0, K[0][2]], K[1], K[2]],
     'must be positive'),
    ('all zero (D6)', lambda K: [[0, 0, 0]] * 3, 'last row'),
    ('last row zero (D7)', lambda K: [K[0], K[1], [0, 0, 0]], 'last row'),
    ('tiny focal', lambda K: [[1e-30, 0, 0], [0, 1e-30, 0], [0, 0, 1]],
     'implausible for a 224x224 image'),
    ('singular', lambda K: [[500, 500, 112], [500, 500, 112], [0, 0, 1]],
     'invertible')
])
def test_bad_intrinsics_are_refused_naming_file_field_and_sample(
        broken, name, edit, expected):

    def bad(Ks):
        Ks[5] = edit(Ks[5])
        return Ks

    _edit(broken / 'evaluation_K.json', bad)
    with pytest.raises(
            ValueError,
            match=rf'evaluation_K.json: field K, sample 5: .*{expected}'):
        _ds(str(broken), split='evaluation', test_mode=True)


def test_tiny_images_are_refused_everywhere(broken, capsys):
    """A 1x1 image (D9): the loader names the file and the minimum, and
    check_dataset.py counts it bad."""
    import cv2

    from peclr_mm.datasets.transforms import LoadHandImage
    from peclr_mm.utils.arrays import MIN_IMAGE_SIDE
    path = broken / 'evaluation' / 'rgb' / '00000003.jpg'
    cv2.imwrite(str(path), np.zeros((1, 1, 3), np.uint8))
    ds = _ds(str(broken), split='evaluation', test_mode=True)
    with pytest.raises(
            OSError,
            match=rf'00000003.jpg: too small \(1x1 px; '
            rf'at least {MIN_IMAGE_SIDE} px'):
        LoadHandImage()(ds.get_data_info(3))
    tool = _check_dataset_tool()
    assert tool.main([str(broken), '--splits', 'evaluation']) == 1
    out, err = capsys.readouterr()
    assert '00000003.jpg: too small' in out
    assert 'evaluation: 8 images, 1 bad' in err


def test_every_image_size_is_checked_where_read(broken, capsys):
    """An 8000 px training image among 224 px ones (issue 36, item 5): the
    loader names the file, its size and the expected size;
    check_dataset.py names it too."""
    import cv2

    from peclr_mm.datasets.transforms import LoadHandImage
    path = broken / 'training' / 'rgb' / '00000005.jpg'
    cv2.imwrite(str(path), np.zeros((300, 400, 3), np.uint8))
    ds = _ds(str(broken))
    assert ds.get_data_info(0)['expected_img_shape'] == (224, 224)
    with pytest.raises(
            OSError,
            match=r'00000005.jpg: is 400x300 px, but its data set '
            r'expects 224x224 px'):
        LoadHandImage()(ds.get_data_info(5))
    LoadHandImage()(ds.get_data_info(4))  # the others still load
    tool = _check_dataset_tool()
    assert tool.main([str(broken), '--splits', 'training']) == 1
    out, err = capsys.readouterr()
    assert out.strip().endswith(
        '00000005.jpg: is 400x300 px, but its data set expects 224x224 px '
        "(the size its cameras K and crops assume; FreiHAND's are 224x224)")
    assert 'training: 48 images, 1 bad' in err


@pytest.mark.parametrize('edit, field, likely', [
    (lambda d: (np.array(d) * 1000).tolist(), 'xyz', 'millimetres'),
    (lambda d: (np.array(d) * 10).tolist(), 'scale', 'ten times metres'),
    (lambda d: (np.array(d) * 1000).tolist(), 'scale', 'millimetres'),
])
def test_units_are_checked(broken, capsys, edit, field, likely):
    """xyz in millimetres or scale x10 (issue 36, item 6): one line naming
    the file, the field and the likely unit, from the data set and from
    check_dataset.py."""
    _edit(broken / f'training_{field}.json', edit)
    with pytest.raises(
            ValueError,
            match=rf'training_{field}.json: field {field}.*likely {likely}'):
        _ds(str(broken))
    tool = _check_dataset_tool()
    assert tool.main([str(broken), '--splits', 'training']) == 1
    out = capsys.readouterr().out
    assert f'training_{field}.json: field {field}' in out and likely in out


def test_scale_must_be_the_bone_9_10(broken):
    """A plausible scale that is not |x9 - x10| is refused (the check is
    exact in FreiHAND's layout), naming both files."""
    _edit(broken / 'training_scale.json', lambda d:
          (np.array(d) * 1.3).tolist())
    with pytest.raises(
            ValueError,
            match=r'training_scale.json: field scale is not \|x9 - x10\| of '
            r'.*training_xyz.json .*ratio 1.3'):
        _ds(str(broken))


def test_check_dataset_reads_every_annotation_record(broken, capsys):
    """NaN joints, a record of the wrong shape, a bad K and a negative
    scale (issue 36, item 7): each named with its file, field and sample;
    exit 1."""

    def nan_joint(d):
        d[3][4][0] = float('nan')
        d[6] = d[6][:20]
        return d

    _edit(broken / 'training_xyz.json', nan_joint)
    _edit(broken / 'training_K.json',
          lambda d: d[:2] + [[[0, 0, 0]] * 3] + d[3:])
    _edit(broken / 'training_scale.json', lambda d: d[:7] + [-1.] + d[8:])
    tool = _check_dataset_tool()
    assert tool.main([str(broken), '--splits', 'training']) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert any('training_xyz.json: field xyz, sample 3: non-finite' in line
               for line in lines)
    assert any('training_xyz.json: field xyz, sample 6: shape (20, 3)' in line
               for line in lines)
    assert any('training_K.json: field K, sample 2: the last row' in line
               for line in lines)
    assert any('training_scale.json: field scale, sample 7: -1' in line
               for line in lines)
    assert 'training: 24 annotations (training_xyz.json, training_K.json, ' \
        'training_scale.json), 4 bad' in err
    doc = tool.__doc__
    for word in ('xyz', 'K', 'scale', 'finite', '|x9 - x10|', 'FIFO'):
        assert word in doc


def _with_timeout(seconds, fn, *args):
    import signal

    def hang(*_):
        raise TimeoutError('blocked')

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        return fn(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_fifos_and_directories_are_refused_unopened(broken, tmp_path, capsys):
    """A FIFO or a directory where an image is expected (issue 36, item 9)
    is refused with its name and never opened: nothing blocks."""
    from peclr_mm.datasets import HandImageFolder
    from peclr_mm.datasets.transforms import LoadHandImage
    rgb = broken / 'training' / 'rgb'
    info = _ds(str(broken)).get_data_info(1)
    os.remove(rgb / '00000001.jpg')
    os.mkfifo(rgb / '00000001.jpg')
    with pytest.raises(
            OSError, match=r'00000001.jpg: not a regular file '
            r'\(a FIFO\)'):
        _with_timeout(10, LoadHandImage(), dict(info))
    with pytest.raises(
            ValueError, match=r'00000001.jpg: not a regular file '
            r'\(a FIFO\)'):
        _with_timeout(10, _ds, str(broken))
    tool = _check_dataset_tool()
    assert _with_timeout(20, tool.main,
                         [str(broken), '--splits', 'training']) == 2
    assert 'not a regular file (a FIFO)' in capsys.readouterr().err
    os.remove(rgb / '00000001.jpg')
    os.mkdir(rgb / '00000001.jpg')
    with pytest.raises(OSError, match=r'not a regular file \(a directory\)'):
        LoadHandImage()(dict(info))
    folder = tmp_path / 'folder'
    folder.mkdir()
    shutil.copy(rgb / '00000000.jpg', folder / 'a.jpg')
    os.mkfifo(folder / 'b.jpg')
    with pytest.raises(ValueError, match=r'b.jpg: not a regular file'):
        _with_timeout(
            10, lambda: HandImageFolder(data_root=str(folder), pipeline=[]))


def test_clear_errors_for_a_missing_root_and_the_box_crop(broken):
    """data_root=None names data_root; the box crop of a camera-only set
    names the fix (issue 36, item 10)."""
    from peclr_mm.datasets import HandImageFolder
    from peclr_mm.datasets.transforms import HandCanonicalCrop, LoadHandImage
    with pytest.raises(ValueError, match='data_root must be'):
        FreiHand3DDataset(data_root=None, pipeline=[])
    with pytest.raises(ValueError, match='data_root must be'):
        HandImageFolder(data_root=None, pipeline=[])
    info = _ds(
        str(broken), split='evaluation', with_labels='camera').get_data_info(0)
    sample = LoadHandImage()(info)
    with pytest.raises(KeyError, match="use source='image'"):
        HandCanonicalCrop(input_size=32, source='bbox')(dict(sample))
    assert HandCanonicalCrop(
        input_size=32, source='image')(dict(sample))['crop_size'] > 0


def _mirrored_pair(synthetic_root, tmp_path):
    """The synthetic evaluation split as a right-hand set and as its
    mirror image (a left-hand set), both from the same decoded pixels
    (PNG bytes under the layout's .jpg names: no re-compression)."""
    import cv2

    from peclr_mm.utils.camera import mirror_intrinsics
    roots = {}
    xyz = np.array(
        json.load(open(os.path.join(synthetic_root, 'evaluation_xyz.json'))))
    K = np.array(
        json.load(open(os.path.join(synthetic_root, 'evaluation_K.json'))))
    scale = json.load(
        open(os.path.join(synthetic_root, 'evaluation_scale.json')))
    for hand in ('right', 'left'):
        root = tmp_path / hand
        (root / 'evaluation' / 'rgb').mkdir(parents=True)
        for i in range(len(xyz)):
            img = cv2.imread(
                os.path.join(synthetic_root, 'evaluation', 'rgb',
                             f'{i:08d}.jpg'))
            if hand == 'left':
                img = cv2.flip(img, 1)
            (root / 'evaluation' / 'rgb' / f'{i:08d}.jpg').write_bytes(
                cv2.imencode('.png', img)[1].tobytes())
        w = img.shape[1]
        json.dump((xyz * [-1, 1, 1] if hand == 'left' else xyz).tolist(),
                  open(root / 'evaluation_xyz.json', 'w'))
        json.dump([(mirror_intrinsics(k, w) if hand == 'left' else k).tolist()
                   for k in K], open(root / 'evaluation_K.json', 'w'))
        json.dump(scale, open(root / 'evaluation_scale.json', 'w'))
        roots[hand] = str(root)
    return roots


def test_left_hand_set_scores_as_its_mirrored_copy(synthetic_root, tmp_path):
    """hand='left' on a left-hand set gives the scores of hand='right' on
    its mirrored copy, its predictions in the left set's own frame (the
    mirrored copy's, mirrored back), with a model whose root refiner is
    not zero (issue 34, item 5)."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import MODELS

    from peclr_mm.evaluation import freihand_scores
    from ..conftest import tiny_finetune_cfg
    roots = _mirrored_pair(synthetic_root, tmp_path)
    cfg = tiny_finetune_cfg(roots['right'], str(tmp_path / 'work'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.nn.init.normal_(model.head.root_refiner[-1].weight, std=0.5)
    model.eval()
    pipeline = cfg.test_dataloader.dataset.pipeline
    # an untrained network puts every joint on one spot, where the closed
    # form's root depth is ill-conditioned: its output about a real hand
    first = FreiHand3DDataset(
        data_root=roots['right'],
        split='evaluation',
        pipeline=pipeline,
        test_mode=True)[0]['data_samples']
    enc = model.head.codec.encode(
        first.gt_instances.transformed_keypoints,
        keypoints_3d=first.gt_instances.keypoints_3d,
        K_crop=first.metainfo['K_crop'],
        bone_length=first.metainfo['bone_length'])
    base_uv = torch.as_tensor(enc['keypoint_labels'])
    base_z = torch.as_tensor(enc['z_rel_labels'])
    forward = model.head.forward

    def about_a_hand(feats):
        uv, z_rel = forward(feats)
        return base_uv + 100 * (uv - uv.mean()), base_z + 100 * z_rel

    model.head.forward = about_a_hand
    out = {}
    for hand in ('right', 'left'):
        ds = FreiHand3DDataset(
            data_root=roots[hand],
            split='evaluation',
            hand=hand,
            pipeline=pipeline,
            test_mode=True)
        data = pseudo_collate([ds[i] for i in range(len(ds))])
        with torch.no_grad():
            samples = model.test_step(data)
        pred = np.stack(
            [np.asarray(s.pred_instances.keypoints_3d)[0] for s in samples])
        uv = np.stack(
            [np.asarray(s.pred_instances.keypoints)[0] for s in samples])
        gt = np.stack(
            [np.asarray(s.gt_instances.keypoints_3d)[0] for s in samples])
        out[hand] = (pred, uv, gt, freihand_scores(pred, gt))
    (pr, uvr, gtr, sr), (pl, uvl, gtl, sl) = out['right'], out['left']
    np.testing.assert_allclose(gtl, gtr * [-1, 1, 1], atol=1e-7)
    # the left set's predictions are the right copy's, mirrored back
    np.testing.assert_allclose(pl, pr * [-1, 1, 1], atol=1e-5)
    np.testing.assert_allclose(uvl[..., 0], 223 - uvr[..., 0], atol=1e-3)
    for key in ('epe_mm', 'pa_epe_mm', 'auc', 'pa_auc'):
        assert sl[key] == pytest.approx(sr[key], rel=1e-5, abs=1e-6), key
