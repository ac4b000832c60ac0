# Copyright (c) peclr_mm authors. All rights reserved.
"""The unlabeled-hands converter, with a stand-in detector: a "hand" is a
saturated red (right) or blue (left) square; it is found only where it
does not touch the image's border (as MediaPipe needs context around a
hand)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from peclr_mm.datasets import HandImageFolder
from tools.dataset_converters import hand_photos


def _blobs(img):
    hands = []
    for channel, side in ((2, 'right'), (0, 'left')):
        others = [c for c in range(3) if c != channel]
        mask = (img[..., channel] > 200) & (img[..., others].max(-1) < 60)
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        h, w = mask.shape
        if xs.min() == 0 or ys.min() == 0 or xs.max() == w - 1 or \
                ys.max() == h - 1:
            continue  # touches the border: not found
        lo = np.array([xs.min(), ys.min()], float)
        hi = np.array([xs.max(), ys.max()], float)
        t = np.linspace(0, 1, 21)[:, None]
        kpts = lo + t * (hi - lo)  # the box's diagonal
        hands.append(
            dict(
                keypoints=kpts,
                bbox=np.concatenate([kpts.min(0), kpts.max(0)]),
                score=0.9,
                handedness=side))
    return hands


@pytest.fixture(autouse=True)
def stand_in_detector(monkeypatch):
    monkeypatch.setattr(hand_photos, 'build_detector', lambda opts: _blobs)


def _photo(path,
           size=(120, 160),
           box=(40, 30, 80, 90),
           colour='red',
           mark=True):
    img = np.full((*size, 3), 128, np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = (0, 0, 255) if colour == 'red' else (255, 0, 0)
    if mark:  # a dark notch on the square's left edge: shows mirroring
        img[(y1 + y2) // 2 - 3:(y1 + y2) // 2 + 3, x1:x1 + 6] = (0, 0, 90)
    cv2.imwrite(str(path), img)
    return img


def _run(inputs, out, *extra):
    return hand_photos.main([
        *map(str, inputs), '--out',
        str(out), '--workers', '0', '--no-progress', '--min-size', '10', *extra
    ])


def _manifest(out):
    lines = open(osp.join(out, 'manifest.jsonl')).read().splitlines()
    return [json.loads(x) for x in lines][1:]


def test_hands_are_cut_out_and_read_by_the_folder_dataset(tmp_path):
    src = tmp_path / 'photos'
    src.mkdir()
    (src / 'LICENSE').write_text('Apache-2.0')
    _photo(src / 'a.jpg')
    _photo(src / 'b.png', colour='blue')
    out = tmp_path / 'set'
    assert _run([src], out) == 0
    recs = {osp.basename(r['source']): r for r in _manifest(out)}
    assert set(recs) == {'a.jpg', 'b.png'}
    assert recs['a.jpg']['licence'] == str(src / 'LICENSE')
    right, left = recs['a.jpg']['hands'][0], recs['b.png']['hands'][0]
    assert right['handedness'] == 'right' and not right['mirrored']
    assert left['handedness'] == 'left' and left['mirrored']
    # the crop is margin x the box's longer side, centred on the hand
    crop = cv2.imread(osp.join(out, right['crop']))
    assert crop.shape == (256, 256, 3)
    box = np.array(right['crop_bbox'])
    side = max(box[2:] - box[:2])
    assert side == pytest.approx(256 / 2.0, abs=1.5)
    np.testing.assert_allclose((box[:2] + box[2:]) / 2, 128, atol=1.5)
    # the notch is on the hand's left edge, and on its right once mirrored
    for hand, expect_left in ((right, True), (left, False)):
        img = cv2.imread(osp.join(out, hand['crop'])).astype(int)
        b = np.array(hand['crop_bbox']).round().astype(int)
        row = img[128, b[0] + 2:b[2] - 2]
        dark = np.nonzero(row.sum(-1) < 160)[0]
        assert len(dark) > 0
        assert (dark.mean() < len(row) / 2) == expect_left
    boxes = json.load(open(osp.join(out, 'boxes.json')))
    assert set(boxes) == {right['crop'], left['crop']}
    assert all(not b['is_left'] for b in boxes.values())
    ds = HandImageFolder(data_root=str(out), box_file='boxes.json')
    assert len(ds) == 2
    np.testing.assert_allclose(
        ds[0]['bbox'][0], boxes[ds[0]['img_path'][len(str(out)) + 1:]]['bbox'])


def test_a_hand_filling_the_image_is_found_with_a_margin(tmp_path):
    # touches the photo's top and left edges
    _photo(tmp_path / 'full.jpg', size=(60, 60), box=(0, 0, 50, 50))
    out = tmp_path / 'set'
    assert _run([tmp_path / 'full.jpg'], out) == 0
    (hand, ) = _manifest(out)[0]['hands']
    assert hand['padded'] and 'crop' in hand
    # the box is in the photo's own pixels, not the padded image's
    np.testing.assert_allclose(hand['bbox'], [0, 0, 49, 49], atol=0.01)


def test_filters_and_summary(tmp_path, capsys):
    src = tmp_path / 'photos'
    src.mkdir()
    _photo(src / 'big.jpg')
    _photo(src / 'small.jpg', box=(50, 50, 56, 56), mark=False)
    _photo(src / 'none.jpg', box=(0, 0, 0, 0))
    with open(src / 'copy.jpg', 'wb') as f:
        f.write(open(src / 'big.jpg', 'rb').read())
    (src / 'broken.jpg').write_bytes(b'not a jpeg')
    (src / 'notes.txt').write_text('hello')
    out = tmp_path / 'set'
    assert _run([src], out, '--min-size', '20') == 0
    text = capsys.readouterr()
    assert f'skipped {src / "broken.jpg"}: cannot be decoded' in text.err + \
        text.out
    summary = json.load(open(osp.join(out, 'summary.json')))['counts']
    assert summary['hands found'] == 2  # big, small (the copy is not read)
    assert summary['hands kept'] == 1
    assert summary['hands dropped: too small'] == 1
    assert summary['frames with no hand'] == 1
    assert summary['files unreadable'] == 1
    assert summary['files identical to an earlier one'] == 1
    assert summary['files not a photo or video'] == 1
    assert 'hands kept: 1' in text.out


def test_video_frames_capped_and_near_duplicates_dropped(tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (160, 120))
    for i in range(20):
        img = np.full((120, 160, 3), 128, np.uint8)
        if i < 10:  # still for 10 frames, then another shape elsewhere
            img[30:90, 20:60] = (0, 0, 255)
        else:
            img[20:100, 90:120] = (0, 0, 255)
        writer.write(img)
    writer.release()
    out = tmp_path / 'set'
    assert _run([path], out, '--max-frames', '10') == 0
    (rec, ) = _manifest(out)
    assert rec['frames'] == 10 and rec['frames_expected'] == 20
    kept = [h for h in rec['hands'] if 'crop' in h]
    dropped = [h for h in rec['hands'] if h.get('dropped')]
    assert [h['frame'] for h in kept] == [0, 10]
    assert len(dropped) == 8
    assert {h['dropped'] for h in dropped} == {'near-duplicate'}


def test_resumes_and_never_writes_into_inputs_or_foreign_folders(tmp_path):
    src = tmp_path / 'photos'
    src.mkdir()
    for i in range(4):
        _photo(src / f'{i}.jpg', box=(30 + 5 * i, 30, 80, 90))
    out = tmp_path / 'set'
    assert _run([src], out, '--limit', '2') == 0
    first = _manifest(out)
    assert len(first) == 2
    # a line cut short by a kill is dropped and its file read again
    with open(osp.join(out, 'manifest.jsonl'), 'a') as f:
        f.write('{"source": "cut sh')
    assert _run([src], out) == 0
    recs = _manifest(out)
    assert [r['source'] for r in recs[:2]] == [r['source'] for r in first]
    assert len(recs) == 4 and len(os.listdir(out / 'images')) == 4
    # other settings: refused, nothing changed
    before = open(osp.join(out, 'manifest.jsonl')).read()
    assert _run([src], out, '--margin', '1.5') == 2
    assert open(osp.join(out, 'manifest.jsonl')).read() == before
    # a foreign folder, an input, a folder inside an input
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('mine')
    assert _run([src], foreign) == 2
    assert os.listdir(foreign) == ['keep.txt']
    assert _run([src], src) == 2
    assert _run([src], src / 'inside') == 2
    assert not osp.exists(src / 'inside')
    assert _run([tmp_path / 'missing'], tmp_path / 'x') == 2


def test_renders_and_real_hands_pretrain_together(tmp_path, synthetic_root):
    from mmengine.config import Config
    from mmengine.runner import Runner
    src = tmp_path / 'photos'
    src.mkdir()
    for i in range(6):
        _photo(
            src / f'{i}.jpg',
            box=(20 + 6 * i, 25, 70, 95),
            colour='red' if i % 2 else 'blue')
    real = tmp_path / 'real'
    assert _run([src], real) == 0
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs',
            'peclr', 'peclr_resnet18-2stage_1xb32-1e_synthetic-real-hands-'
            '64.py'))
    work = str(tmp_path / 'work')
    cfg.work_dir = work
    cfg.visualizer['name'] = f'visualizer:{work}'
    loader = cfg.train_dataloader
    renders, hands = loader.dataset.datasets
    renders.data_root = synthetic_root
    hands.data_root = str(real)
    for ds in (renders, hands):
        ds.pipeline[1].transforms[0].input_size = 32
    loader.batch_size = 8
    loader.sampler.num_samples = 16
    loader.sampler.source_weights = [0.75, 0.25]  # 1/4 of a batch real
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1., by_epoch=True)]
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 2 and np.all(np.isfinite(losses))
    # the share of real hands drawn is the config's
    sampler = runner.train_dataloader.sampler
    n_renders = len(runner.train_dataloader.dataset.datasets[0])
    sampler.num_samples = 8000
    draws = np.array(list(iter(sampler)))
    assert abs((draws >= n_renders).mean() - 0.25) < 0.02
