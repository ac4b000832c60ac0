# Copyright (c) peclr_mm authors. All rights reserved.
"""The YouTube3DHands-layout writer: the json the official split has, frames
where it names them (as .jpg), boxes on the drawn hand, left hands mirrored,
output fixed by the seed whatever the workers, and the reader reads it."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from peclr_mm.datasets import YouTube3DHandsDataset
from peclr_synthetic import NUM_VERTICES, generate_youtube3d
from peclr_synthetic.youtube3d import _hand_frame
from tests.synthetic.test_writer import load_tool


@pytest.fixture(scope='module')
def yt3d(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('yt') / 'youtube3dhands')
    res = generate_youtube3d(out, 6, seed=1, frame_size=(320, 240))
    assert res['num_hands'] == 6 and res['num_left'] == 3
    return out


def _ann(root):
    with open(osp.join(root, 'youtube_train.json')) as f:
        return json.load(f)


def test_layout_and_boxes(yt3d):
    ann = _ann(yt3d)
    assert [sorted(i)
            for i in ann['images']] == [['height', 'id', 'name', 'width']] * 6
    assert [a['is_left'] for a in ann['annotations']] == [False, True] * 3
    for img, a in zip(ann['images'], ann['annotations']):
        assert a['image_id'] == img['id'] and img['name'].endswith('.png')
        path = osp.join(yt3d, img['name'][:-4] + '.jpg')
        frame = cv2.imread(path)
        assert frame.shape == (240, 320, 3)
        v = np.asarray(a['vertices'])
        assert v.shape == (NUM_VERTICES, 3)
        lo, hi = v[:, :2].min(0), v[:, :2].max(0)
        assert 0 <= lo.min() and hi[0] <= 319 and hi[1] <= 239
        assert np.all(hi - lo > 20)
        assert np.abs(v[:, 2]).max() < 0.3  # wrist-relative depth (m)


@pytest.mark.parametrize('left', [False, True])
def test_vertices_lie_on_the_hand(left):
    """Every vertex is a pixel of the drawn hand and their extent is the
    hand's: the reader's box is the hand's box."""
    frame, v, mask = _hand_frame(5, 0, 400, 260, left)
    assert frame.shape == (260, 400, 3) and mask.shape == (260, 400)
    x, y = v[:, 0].astype(int), v[:, 1].astype(int)
    np.testing.assert_array_equal(v[:, :2], np.c_[x, y])  # pixel centres
    assert mask[y, x].all()
    ys, xs = np.nonzero(mask)
    assert (x.min(), x.max(), y.min(), y.max()) == (xs.min(), xs.max(),
                                                    ys.min(), ys.max())


def test_left_hand_is_the_mirror(tmp_path):
    """With left_every=1 every hand is left: the frames and the vertices'
    x are the mirror images of the right-handed set's."""
    right = str(tmp_path / 'r')
    left = str(tmp_path / 'l')
    generate_youtube3d(right, 2, seed=4, left_every=10**6)
    generate_youtube3d(left, 2, seed=4, left_every=1)
    ar, al = _ann(right), _ann(left)
    for k in range(2):
        vr = np.asarray(ar['annotations'][k]['vertices'])
        vl = np.asarray(al['annotations'][k]['vertices'])
        w = ar['images'][k]['width']
        np.testing.assert_allclose(vl[:, 0], w - 1 - vr[:, 0], atol=0.011)
        np.testing.assert_allclose(vl[:, 1:], vr[:, 1:], atol=0.011)
        name = ar['images'][k]['name'][:-4] + '.jpg'
        ir = cv2.imread(osp.join(right, name)).astype(np.float32)
        il = cv2.imread(osp.join(left, name)).astype(np.float32)
        assert np.abs(il[:, ::-1] - ir).mean() < 3  # JPEG noise only
        assert np.abs(il - ir).mean() > 10


def test_seed_not_workers(tmp_path, yt3d):
    other = str(tmp_path / 'two_workers')
    generate_youtube3d(other, 6, seed=1, frame_size=(320, 240), workers=2)
    with open(osp.join(yt3d, 'youtube_train.json')) as f, \
            open(osp.join(other, 'youtube_train.json')) as g:
        assert f.read() == g.read()
    again = str(tmp_path / 'seed2')
    generate_youtube3d(again, 6, seed=2, frame_size=(320, 240))
    assert _ann(again) != _ann(yt3d)


def test_reader_reads_it(yt3d, tmp_path):
    ds = YouTube3DHandsDataset(
        data_root=yt3d,
        ann_file='youtube_train.json',
        cache_dir=str(tmp_path / 'cache'),
        pipeline=[])
    assert len(ds) == 6 and ds.num_missing == 0
    info = ds[1]
    ann = _ann(yt3d)['annotations'][1]
    v = np.asarray(ann['vertices'])
    np.testing.assert_allclose(
        info['bbox'][0], np.r_[v[:, :2].min(0), v[:, :2].max(0)], atol=1e-3)
    assert info['is_left'] and osp.isfile(info['img_path'])


def test_refusals_and_cli(tmp_path, capsys):
    busy = tmp_path / 'busy'
    busy.mkdir()
    (busy / 'mine.txt').write_text('keep')
    with pytest.raises(FileExistsError, match='not an empty folder'):
        generate_youtube3d(str(busy), 2)
    assert os.listdir(busy) == ['mine.txt']
    with pytest.raises(ValueError, match='frame width'):
        generate_youtube3d(str(tmp_path / 'x'), 2, frame_size=(100, 300))
    tool = load_tool()
    out = str(tmp_path / 'cli')
    assert tool.main(['--youtube3d', '--out', out, '--num-train', '3']) == 0
    assert '3 frames (1 left hands)' in capsys.readouterr().out
    assert tool.main(
        ['--youtube3d', '--out', out, '--num-train', '3', '--overwrite']) == 2
    assert 'FreiHAND layout' in capsys.readouterr().err
    assert tool.main(['--out', out, '--num-train', '3']) == 2
    assert '--num-eval is required' in capsys.readouterr().err
