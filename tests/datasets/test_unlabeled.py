# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os

import cv2
import numpy as np
import pytest
from mmengine.dataset import ConcatDataset

from peclr_mm.datasets import (BalancedSourceSampler, HandImageFolder,
                               YouTube3DHandsDataset)
from peclr_mm.datasets.transforms import HandCanonicalCrop, WarpView


def _write_images(folder, n, size=(48, 64)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full(size + (3, ), i * 10, np.uint8)
        cv2.imwrite(str(folder / f'{i:03d}.jpg'), img)


def test_image_folder_with_boxes(tmp_path):
    _write_images(tmp_path / 'a', 2)
    _write_images(tmp_path / 'b', 1)
    (tmp_path / 'boxes.json').write_text(
        json.dumps({
            'a/000.jpg': [1, 2, 30, 40],
            'b/000.jpg': {
                'bbox': [0, 0, 10, 10],
                'is_left': True
            }
        }))
    ds = HandImageFolder(
        data_root=str(tmp_path), box_file='boxes.json', pipeline=[])
    assert len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    np.testing.assert_allclose(infos[0]['bbox'], [[1, 2, 30, 40]])
    assert 'bbox' not in infos[1]
    assert infos[2]['is_left'] is True


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        HandImageFolder(data_root=str(tmp_path / 'nope'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no images'):
        HandImageFolder(data_root=str(tmp_path / 'empty'))
    _write_images(tmp_path / 'imgs', 1)
    (tmp_path / 'imgs' / 'b.json').write_text(json.dumps({'000.jpg': [5]}))
    with pytest.raises(ValueError, match=r"b.json.*000.jpg"):
        HandImageFolder(data_root=str(tmp_path / 'imgs'), box_file='b.json')


def _yt3d(tmp_path, verts_shape=(778, 3)):
    rng = np.random.default_rng(0)
    anns = []
    for i in range(3):
        v = rng.uniform([10, 20, -5], [60, 90, 5], verts_shape)
        anns.append(
            dict(image_id=i % 2, vertices=v.tolist(), is_left=bool(i == 1)))
    (tmp_path / 'yt.json').write_text(
        json.dumps(
            dict(
                images=[
                    dict(id=0, name='x/0.png'),
                    dict(id=1, name='x/1.png')
                ],
                annotations=anns)))
    (tmp_path / 'x').mkdir(exist_ok=True)
    for name in ('0.png', '1.png'):
        (tmp_path / 'x' / name).write_bytes(b'')
    return anns


def test_youtube3dhands_boxes_from_vertices(tmp_path):
    anns = _yt3d(tmp_path)
    ds = YouTube3DHandsDataset(
        data_root=str(tmp_path),
        ann_file='yt.json',
        pipeline=[],
        cache_dir=str(tmp_path / 'cache'))
    assert len(ds) == 3 and ds.num_missing == 0
    info = ds.get_data_info(1)
    v = np.asarray(anns[1]['vertices'])
    np.testing.assert_allclose(
        info['bbox'][0], np.r_[v[:, :2].min(0), v[:, :2].max(0)], rtol=1e-6)
    assert info['is_left'] and info['img_path'].endswith('x/1.png')


def test_youtube3dhands_bad_vertices(tmp_path):
    _yt3d(tmp_path, verts_shape=(21, 3))
    with pytest.raises(ValueError, match='778 x 3'):
        YouTube3DHandsDataset(
            data_root=str(tmp_path),
            ann_file='yt.json',
            cache_dir=str(tmp_path / 'cache'))


def test_youtube3dhands_missing_frames_jpg_and_cache(tmp_path, monkeypatch):
    """Frames of deleted videos are dropped and listed; a frame saved as
    .jpg is found under its .png name; the condensed boxes are cached, so
    a second dataset does not parse the json."""
    from peclr_mm.datasets import unlabeled
    anns = _yt3d(tmp_path)
    os.remove(tmp_path / 'x' / '1.png')  # image 1: hands 1 (left)
    kw = dict(
        data_root=str(tmp_path),
        ann_file='yt.json',
        pipeline=[],
        cache_dir=str(tmp_path / 'cache'))
    ds = YouTube3DHandsDataset(**kw)
    assert len(ds) == 2 and ds.num_missing == 1
    assert open(ds.missing_file).read() == 'x/1.png\n'
    assert [ds.get_data_info(i)['id'] for i in range(2)] == [0, 2]
    (tmp_path / 'x' / '1.jpg').write_bytes(b'')  # as PeCLR's prep writes
    monkeypatch.setattr(unlabeled, 'condense_youtube3d', None)  # no json
    ds = YouTube3DHandsDataset(**kw)
    assert len(ds) == 3 and ds.num_missing == 0
    info = ds.get_data_info(1)
    assert info['img_path'].endswith('x/1.jpg') and info['is_left']
    v = np.asarray(anns[1]['vertices'])
    np.testing.assert_allclose(
        info['bbox'][0], np.r_[v[:, :2].min(0), v[:, :2].max(0)], rtol=1e-6)
    os.remove(tmp_path / 'x' / '0.png')
    os.remove(tmp_path / 'x' / '1.jpg')
    with pytest.raises(FileNotFoundError, match='none of the frames'):
        YouTube3DHandsDataset(**kw)


def test_youtube3d_condensed_while_streaming(tmp_path):
    """The streamed condensing equals boxes from a whole ``json.load``,
    whatever the order of the json's fields and the chunk size; a damaged
    json is refused naming the file."""
    from peclr_mm.datasets import unlabeled
    from peclr_mm.utils import io
    anns = _yt3d(tmp_path)
    path = str(tmp_path / 'yt.json')
    whole = json.load(open(path))
    want = np.array([
        np.r_[np.min(a['vertices'], 0)[:2],
              np.max(a['vertices'], 0)[:2]] for a in anns
    ])
    flipped = str(tmp_path / 'flipped.json')
    json.dump(
        dict(annotations=whole['annotations'], images=whole['images']),
        open(flipped, 'w'))
    for f in (path, flipped):
        out = unlabeled.condense_youtube3d(f)
        np.testing.assert_allclose(out['boxes'], want, rtol=1e-6)
        assert out['is_left'].tolist() == [False, True, False]
        assert out['image_ids'].tolist() == [0, 1, 0]
    items = list(io.iter_json_object(path, 'x', ('annotations', ), chunk=7))
    assert [k for k, _ in items] == ['images'] + ['annotations'] * 3
    assert [v for k, v in items if k == 'annotations'] == whole['annotations']
    open(path, 'w').write(json.dumps(whole)[:-40])
    with pytest.raises(ValueError, match=r'yt.json: not valid JSON'):
        unlabeled.condense_youtube3d(path)


def test_left_hand_is_mirrored_into_the_crop():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 20:30] = 255  # a bar left of the box centre
    res = dict(
        img=img, img_shape=(100, 100), bbox=np.array([[0, 0, 100, 100.]]))
    right = WarpView()(
        HandCanonicalCrop(input_size=100, padding=1.)(dict(res)))
    left = WarpView()(
        HandCanonicalCrop(input_size=100, padding=1.)(dict(res, is_left=True)))
    # Mirrored about the box centre x = 50: view(x) = source(100 - x).
    np.testing.assert_allclose(
        left['img'][:, 1:], right['img'][:, ::-1][:, :-1], atol=1)
    assert left['img'][50, 75, 0] == 255 and left['img'][50, 25, 0] == 0
    assert np.linalg.det(left['warp_mat'][:, :2]) < 0


class _Range:

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def test_balanced_sampler_draws_sources_equally():
    big, small = _Range(9000), _Range(1000)
    concat = ConcatDataset.__new__(ConcatDataset)
    concat.datasets = [big, small]
    concat.cumulative_sizes = [9000, 10000]
    sampler = BalancedSourceSampler(concat, num_samples=20000, seed=0)
    draws = np.array(list(iter(sampler)))
    frac_small = (draws >= 9000).mean()
    assert abs(frac_small - 0.5) < 0.02
    sampler.set_epoch(1)
    assert list(iter(sampler))[:50] != draws[:50].tolist()
    with pytest.raises(ValueError, match='source_weights'):
        BalancedSourceSampler(concat, source_weights=[1.])
