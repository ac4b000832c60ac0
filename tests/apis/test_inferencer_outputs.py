# Copyright (c) peclr_mm authors. All rights reserved.
"""What the inferencer writes can be trusted: videos keep every frame,
hands are tracked, results of another photo are never replaced, and a run
cut short leaves files a rerun accepts."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

import peclr_mm.apis.inferencer as inferencer_module
from peclr_mm.apis import (Hand3DPoseInferencer, HandTracker, expand_inputs,
                           merge_duplicates)

DEMO = 'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64'


def outs(out_dir) -> dict:
    """``tools/infer.py``'s layout of ``--out-dir``."""
    return dict(
        pred_out_dir=osp.join(str(out_dir), 'predictions'),
        vis_out_dir=osp.join(str(out_dir), 'visualizations'))


BOX = [40., 30., 190., 200.]


def _hand(box=BOX, hand='left', score=.9):
    return dict(
        bbox=np.array(box, np.float64),
        bbox_score=None,
        handedness=hand,
        score=score,
        keypoints=None)


class ScriptedDetector:
    """Per call, the next list of hands (the last list repeats); ``check``
    is called with the call's index first."""

    def __init__(self, script, check=None):
        self.script, self.check, self.calls = script, check, 0

    def __call__(self, img):
        if self.check is not None:
            self.check(self.calls)
        hands = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return [dict(h) for h in hands]

    def close(self):
        pass


@pytest.fixture(scope='module')
def inferencer():
    return Hand3DPoseInferencer(DEMO, None, det_model=None)


@pytest.fixture
def with_detector(inferencer):

    def use(detector):
        inferencer.detector = detector
        return inferencer

    yield use
    inferencer.detector = None


def _src(root):
    return cv2.imread(osp.join(root, 'evaluation', 'rgb', '00000003.jpg'))


def _video(path, frames, fps=10.):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return str(path)


def _frames_of(path):
    cap = cv2.VideoCapture(str(path))
    n, fps = 0, cap.get(cv2.CAP_PROP_FPS)
    while cap.read()[0]:
        n += 1
    cap.release()
    return n, fps


def test_a_video_keeps_every_frame_and_its_time(with_detector, synthetic_root,
                                                tmp_path):
    """A hand leaving the frame is a note, not an error; duplicates are
    merged; handedness that flips for a frame keeps its track's majority;
    --draw-every repeats the last drawn frame so the length and fps stay."""
    video = _video(tmp_path / 'clip.mp4', [_src(synthetic_root)] * 5)
    outside = [200., 30., 400., 200.]  # mostly beyond the 224 px frame
    inf = with_detector(
        ScriptedDetector([
            [_hand()],
            [_hand(), _hand([42., 31., 191., 201.])],  # one hand twice
            [_hand(hand='right', score=.6)],  # the label flips once
            [_hand(outside)],
            [_hand()],
        ]))
    out = str(tmp_path / 'out')
    results = list(inf(video, **outs(out), draw_every=2))
    assert [r['frame_id'] for r in results] == [0, 1, 2, 3, 4]
    assert all(r['error'] is None for r in results) and not inf.errors
    clip = json.load(open(osp.join(out, 'predictions', 'clip.json')))
    frames = clip['instance_info']
    assert [len(f['instances']) for f in frames] == [1, 1, 1, 0, 1]
    assert 'duplicate' in frames[1]['note']
    assert 'hand 0 not predicted' in frames[3]['note']
    hand = frames[2]['instances'][0]
    assert hand['handedness'] == 'left'
    assert 'majority' in hand['handedness_source']
    assert {f['instances'][0]['track_id']
            for f in frames if f['instances']} == {0}
    meta = clip['meta_info']
    assert meta['complete'] and meta['frames_read'] == 5
    assert meta['frames_expected'] == 5 and 'truncated' not in meta
    n, fps = _frames_of(osp.join(out, 'visualizations', 'clip.mp4'))
    assert n == 5 and fps == pytest.approx(10.)
    assert not [
        f for f in os.listdir(osp.join(out, 'visualizations'))
        if f.startswith('.')
    ]


def test_results_are_marked_ours_before_any_picture(with_detector,
                                                    synthetic_root, tmp_path,
                                                    monkeypatch):
    """kill -9 or a failed write at any moment leaves either nothing or a
    results file of ours beside the pictures, so a rerun is not refused
    with 'was not written by peclr_mm'."""
    out = tmp_path / 'out'
    video = _video(tmp_path / 'clip.mp4', [_src(synthetic_root)] * 3)

    def pictures_are_claimed(call):
        vis = out / 'visualizations'
        if vis.exists() and os.listdir(vis):
            meta = inferencer_module._our_meta(
                str(out / 'predictions' / 'clip.json'))
            assert meta is not None, 'a picture without our results file'

    inf = with_detector(ScriptedDetector([[_hand()]], pictures_are_claimed))
    assert len(list(inf(video, **outs(str(out))))) == 3
    # an image whose results file cannot be written: no picture either
    img = tmp_path / 'h.jpg'
    cv2.imwrite(str(img), _src(synthetic_root))

    def full_disk(path, *args, **kwargs):
        raise OSError(f'writing {path} failed: No space left on device')

    monkeypatch.setattr(inferencer_module, 'atomic_write_json', full_disk)
    with pytest.raises(OSError, match='No space left'):
        list(inf(str(img), **outs(str(out))))
    monkeypatch.undo()
    assert not (out / 'visualizations' / 'h.jpg').exists()
    (res, ) = inf(str(img), **outs(str(out)))  # the rerun is not refused
    assert res['error'] is None
    assert (out / 'visualizations' / 'h.jpg').exists()
    assert (out / 'visualizations' / '3d' / 'h.jpg').exists()


def test_another_photo_of_the_same_name_gets_its_own_results(
        inferencer, synthetic_root, tmp_path):
    """dayA/IMG_0001.jpg then dayB/IMG_0001.jpg into one out_dir: the
    first's results stay, the second's get a name from its path."""
    src = _src(synthetic_root)
    for day in ('dayA', 'dayB'):
        (tmp_path / day).mkdir()
        cv2.imwrite(str(tmp_path / day / 'IMG_0001.jpg'), src)
    out = str(tmp_path / 'out')
    first = str(tmp_path / 'dayA' / 'IMG_0001.jpg')
    list(inferencer(first, **outs(out)))
    pred = osp.join(out, 'predictions', 'IMG_0001.json')
    before = open(pred).read()
    list(inferencer(str(tmp_path / 'dayB' / 'IMG_0001.jpg'), **outs(out)))
    assert open(pred).read() == before
    (renamed, ) = inferencer.renamed
    assert renamed['instead_of'] == 'IMG_0001'
    assert renamed['held_by'] == osp.realpath(first)
    second = json.load(
        open(osp.join(out, 'predictions', renamed['name'] + '.json')))
    assert second['meta_info']['source'] == osp.realpath(tmp_path / 'dayB' /
                                                         'IMG_0001.jpg')
    assert osp.isfile(
        osp.join(out, 'visualizations', renamed['name'] + '.jpg'))
    # the same photo again rewrites its own results under its own name
    list(inferencer(first, **outs(out)))
    assert inferencer.renamed == []


def test_interrupted_and_truncated_videos_say_so(with_detector, synthetic_root,
                                                 tmp_path, monkeypatch):
    """Ctrl-C mid-video writes results marked incomplete; fewer frames
    decoded than the file announces is noted; a frame whose size changes
    is predicted as it is and fitted into the output video."""
    src = _src(synthetic_root)
    big = cv2.resize(src, (320, 300))

    def frames(item):
        item.update(fps=10., frames=6)
        for i, f in enumerate((src, src, big, src)):
            yield i, f

    monkeypatch.setattr(inferencer_module, '_video_frames', frames)
    video = str(tmp_path / 'cut.mp4')
    open(video, 'wb').close()
    inf = with_detector(ScriptedDetector([[_hand()]]))
    out = str(tmp_path / 'out')
    results = list(inf(video, **outs(out)))
    assert len(results) == 4
    clip = json.load(open(osp.join(out, 'predictions', 'cut.json')))
    meta = clip['meta_info']
    assert meta['truncated'] and '4 of 6 frames' in meta['note']
    assert inf.videos[0]['frames_read'] == 4
    assert 'frame size changed from 224x224 to 320x300' in clip[
        'instance_info'][2]['note']
    assert len(clip['instance_info'][2]['instances']) == 1
    n, _ = _frames_of(osp.join(out, 'visualizations', 'cut.mp4'))
    assert n == 4
    # interrupted after the first frame (Ctrl-C in the caller's loop)
    run = inf(video, **outs(out))
    next(run)
    run.close()
    meta = json.load(open(osp.join(out, 'predictions',
                                   'cut.json')))['meta_info']
    assert meta['complete'] is False and 'incomplete' in meta['note']


def test_folders_hands_and_out_dirs_are_reported(with_detector, synthetic_root,
                                                 tmp_path):
    """Skipped folder entries are listed with why; hands beyond max_hands
    are noted; an unwritable out_dir is refused before any input runs."""
    folder = tmp_path / 'photos'
    (folder / 'sub').mkdir(parents=True)
    cv2.imwrite(str(folder / 'a.jpg'), _src(synthetic_root))
    for name in ('b.heic', 'c.gif', 'd.mp4', 'notes.txt', '.DS_Store'):
        (folder / name).write_bytes(b'x')
    skipped = []
    items = expand_inputs(str(folder), skipped)
    assert [i['name'] for i in items] == ['a']
    why = {osp.basename(p): w for p, w in skipped}
    assert sorted(why) == ['b.heic', 'c.gif', 'd.mp4', 'notes.txt', 'sub']
    assert 'HEIC' in why['b.heic'] and 'sub-folder' in why['sub']
    assert 'video' in why['d.mp4']
    boxes = ([10., 10., 100., 100.], [120., 10., 210.,
                                      100.], [10., 120., 100., 210.])
    detector = ScriptedDetector([[_hand(b) for b in boxes]])
    inf = with_detector(detector)
    (res, ) = inf(str(folder / 'a.jpg'))
    assert len(res['predictions'][0]) == inf.max_hands == 2
    assert 'max_hands=2' in res['note']
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    with pytest.raises(OSError, match='out_dir .*a_file.* cannot be written'):
        list(inf(str(folder / 'a.jpg'), **outs(str(blocker / 'out'))))
    assert detector.calls == 1  # refused before the input ran


def test_tracker_and_duplicates():
    hands = [
        _hand(),
        _hand([41., 30., 190., 201.]),  # IoU 0.99
        _hand([60., 40., 140., 120.]),  # inside the first (IoU 0.25)
        _hand([0, 0, 20, 20])
    ]
    kept, merged = merge_duplicates(hands)
    assert merged == 2 and len(kept) == 2
    tracker = HandTracker()
    labels = ['left', 'left', 'right', 'left', 'right', 'right', 'right']
    voted = [tracker.update([_hand(hand=h)])[0] for h in labels]
    assert {t for t, _ in voted} == {0}
    # weighted votes: 3 x left against 3 x right is still left
    assert [h for _, h in voted] == ['left'] * 6 + ['right']
    # a hand far away is another track
    (other, ) = tracker.update([_hand([0, 0, 20, 20], hand='left')])
    assert other == (1, 'left')


def test_show_and_device_fail_first_with_one_line():
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='finds no CUDA GPU'):
            Hand3DPoseInferencer(DEMO, None, det_model=None, device='cuda')
    if 'NONE' in cv2.getBuildInformation().split('GUI:')[1][:40]:
        from peclr_mm.apis import check_show
        with pytest.raises(RuntimeError, match='headless'):
            check_show()
