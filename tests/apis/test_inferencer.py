# Copyright (c) peclr_mm authors. All rights reserved.
"""Hand3DPoseInferencer: images, folders and videos in, mmpose-shaped results
out; every hand of an image in one batch; handedness from the detector;
nothing overwritten that it did not write."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from peclr_mm.apis import (Hand3DPoseInferencer, expand_inputs,
                           inference_topdown_hand3d, mirror_intrinsics)

DEMO = 'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64'


def outs(out_dir) -> dict:
    """``tools/infer.py``'s layout of ``--out-dir``."""
    return dict(
        pred_out_dir=osp.join(str(out_dir), 'predictions'),
        vis_out_dir=osp.join(str(out_dir), 'visualizations'))


class FakeDetector:
    """Fixed hands, as a detector returns them."""

    def __init__(self, hands):
        self.hands = hands
        self.calls = 0

    def __call__(self, img):
        self.calls += 1
        return [dict(h) for h in self.hands]

    def close(self):
        pass


@pytest.fixture(scope='module')
def inferencer():
    return Hand3DPoseInferencer(DEMO, None, det_model=None)


def _img(root, i=3):
    return osp.join(root, 'evaluation', 'rgb', f'{i:08d}.jpg')


def test_a_batch_of_hands_equals_each_hand_alone(inferencer, synthetic_root):
    """Two hands of one image in one batch give what each gives alone; a
    left hand is the mirror of the right hand in the mirrored image."""
    model = inferencer.model
    img = cv2.imread(_img(synthetic_root))
    w = img.shape[1]
    K = np.array([[600., 0., 100.], [0., 610., 120.], [0., 0., 1.]])
    boxes = [[50., 40., 180., 200.], [30., 20., 200., 210.]]
    both = inference_topdown_hand3d(
        model, img, boxes, hands=['right', 'left'], K=K, bbox_scores=[.9, .5])
    for i, hand in enumerate(('right', 'left')):
        alone = inference_topdown_hand3d(
            model, img, boxes[i], hands=hand, K=K)[0]
        # relative: the untrained head puts its hands tens of metres
        # away, where float32 batch-order noise is about 1e-4 of it
        np.testing.assert_allclose(
            both[i].pred_instances.keypoints_3d,
            alone.pred_instances.keypoints_3d,
            rtol=2e-4,
            atol=1e-5)
        assert both[i].metainfo['handedness'] == hand
    assert np.allclose(both[1].pred_instances.bbox_scores, .5)
    # no landmarks to agree with: no confidence, not the box's score
    assert np.isnan(both[1].pred_instances.keypoint_scores).all()
    # the left hand of box 1 is the right hand of the mirrored box
    x1, y1, x2, y2 = boxes[1]
    mirrored = inference_topdown_hand3d(
        model,
        cv2.flip(img, 1), [w - 1 - x2, y1, w - 1 - x1, y2],
        hands='right',
        K=mirror_intrinsics(K, w))[0]
    flip = np.diag([-1., 1., 1.])
    np.testing.assert_allclose(
        np.asarray(both[1].pred_instances.keypoints_3d)[0],
        np.asarray(mirrored.pred_instances.keypoints_3d)[0] @ flip,
        rtol=2e-4,
        atol=1e-4)


def test_bad_boxes_are_refused_by_name(inferencer, synthetic_root):
    path = _img(synthetic_root)
    model = inferencer.model
    with pytest.raises(ValueError, match=r'00000003.jpg: bboxes must be'):
        inference_topdown_hand3d(model, path, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r'bbox 1 .* inside the 224 x 224'):
        inference_topdown_hand3d(model, path,
                                 [[10, 10, 100, 100], [200, 200, 400, 400]])
    with pytest.raises(ValueError, match=r'bbox .* a hand box needs sides'):
        inference_topdown_hand3d(model, path, [10, 10, 12, 100])
    with pytest.raises(ValueError, match=r'2 values for 1 hand'):
        inference_topdown_hand3d(
            model, path, [10, 10, 100, 100], hands=['left', 'right'])
    with pytest.raises(ValueError, match=r"hand must be 'right' or 'left'"):
        inference_topdown_hand3d(model, path, hands='both')


def test_images_folders_and_a_video(inferencer, synthetic_root, tmp_path):
    """Inputs sharing a file name get distinct, stable names; a video's
    frames are tracked and written as an annotated video; the detector's
    handedness and score reach every hand; an image without hands is
    recorded as such."""
    src = cv2.imread(_img(synthetic_root))
    for d in ('d1', 'd2'):
        (tmp_path / d).mkdir()
        cv2.imwrite(str(tmp_path / d / 'a.jpg'), src)
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 10.,
                             (224, 224))
    for _ in range(3):
        writer.write(src)
    writer.release()
    inferencer.detector = FakeDetector([
        dict(
            bbox=np.array([40., 30., 190., 200.]),
            bbox_score=.8,
            handedness='left',
            score=.7)
    ])
    out = str(tmp_path / 'out')
    try:
        results = list(
            inferencer(
                [str(tmp_path / 'd1'),
                 str(tmp_path / 'd2' / 'a.jpg'), video], **outs(out)))
        assert inferencer.detector.calls == 5
    finally:
        inferencer.detector = None
    assert [r['frame_id'] for r in results] == [0, 0, 0, 1, 2]
    preds = sorted(os.listdir(osp.join(out, 'predictions')))
    assert len(preds) == 3 and 'clip.json' in preds
    assert all(p.startswith('a_') for p in preds if p != 'clip.json')
    assert sorted(
        expand_inputs([str(tmp_path /
                           'd1'), str(tmp_path / 'd2')])[i]['name'] + '.json'
        for i in range(2)) == [p for p in preds if p != 'clip.json']
    clip = json.load(open(osp.join(out, 'predictions', 'clip.json')))
    assert [f['frame_id'] for f in clip['instance_info']] == [0, 1, 2]
    hand = clip['instance_info'][2]['instances'][0]
    assert hand['handedness'] == 'left'
    assert hand['handedness_source'] == 'detector'
    assert hand['bbox_score'] == pytest.approx(.8)
    assert hand['K_source'].startswith('assumed')
    assert np.array(hand['keypoints_3d']).shape == (21, 3)
    cap = cv2.VideoCapture(osp.join(out, 'visualizations', 'clip.mp4'))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 3
    # no hand: recorded, no error
    inferencer.detector = FakeDetector([])
    try:
        (res, ) = inferencer(_img(synthetic_root), **outs(str(tmp_path / 'e')))
    finally:
        inferencer.detector = None
    assert res['note'] == 'no hand found' and res['predictions'] == [[]]
    empty = json.load(open(tmp_path / 'e' / 'predictions' / '00000003.json'))
    assert empty['instance_info'] == [
        dict(frame_id=0, instances=[], note='no hand found')
    ]


def test_outputs_never_overwrite_what_is_not_ours(inferencer, synthetic_root,
                                                  tmp_path):
    img = tmp_path / 'h.jpg'
    img.write_bytes(open(_img(synthetic_root), 'rb').read())
    mine = tmp_path / 'out' / 'visualizations' / 'h.jpg'
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b'mine')
    with pytest.raises(ValueError, match='h.jpg exists and was not written'):
        list(inferencer(str(img), **outs(str(tmp_path / 'out'))))
    assert mine.read_bytes() == b'mine'
    assert not (tmp_path / 'out' / 'predictions').exists()
    # an out_dir whose outputs are the inputs
    (tmp_path / 'predictions').mkdir()
    clash = tmp_path / 'visualizations'
    clash.mkdir()
    cv2.imwrite(str(clash / 'h.jpg'), cv2.imread(str(img)))
    with pytest.raises(ValueError, match='is one of the inputs'):
        list(inferencer(str(clash / 'h.jpg'), **outs(str(tmp_path))))
    # its own results are rewritten
    list(inferencer(str(img), **outs(str(tmp_path / 'own'))))
    list(inferencer(str(img), **outs(str(tmp_path / 'own'))))


def test_bad_inputs_are_named(inferencer, tmp_path):
    fifo = tmp_path / 'pipe.mp4'
    os.mkfifo(fifo)
    with pytest.raises(OSError, match='pipe.mp4 is not a regular file'):
        expand_inputs(str(fifo))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='folder with no images'):
        expand_inputs(str(tmp_path / 'empty'))
    (tmp_path / 'bad.mp4').write_bytes(b'not a video')
    with pytest.raises(OSError, match='bad.mp4'):
        list(inferencer(str(tmp_path / 'bad.mp4')))
    res = list(inferencer(str(tmp_path / 'bad.mp4'), skip_errors=True))
    assert 'bad.mp4' in res[0]['error'] and inferencer.errors


def test_detectors_and_configs_are_checked(tmp_path):
    from peclr_mm.apis import build_detector
    with pytest.raises(ValueError, match='without weights'):
        build_detector('some_mmdet_config.py', None)
    with pytest.raises(ValueError, match='is not a file'):
        build_detector(str(tmp_path / 'det.py'), str(tmp_path / 'det.pth'))
    with pytest.raises(ValueError, match='not a TopdownHand3DEstimator'):
        Hand3DPoseInferencer(
            'peclr_resnet18-2stage_1xb32-1e_synthetic-64',
            None,
            det_model=None)
    with pytest.raises(ValueError, match='not found'):
        Hand3DPoseInferencer('no_such_config', None, det_model=None)


def test_mediapipe_detector_finds_no_hand_in_a_blank_image():
    from peclr_mm.apis import MediaPipeHands
    det = MediaPipeHands()
    try:
        assert det(np.full((128, 128, 3), 127, np.uint8)) == []
    finally:
        det.close()


def test_the_pipeline_is_built_once_per_inferencer(synthetic_root, tmp_path,
                                                   monkeypatch):
    """Images with and without boxes and every frame of a video go through
    the one pipeline the inferencer built, as mmpose's inferencers do."""
    import peclr_mm.apis.inference as inference
    builds = []

    class Counted(inference.Compose):

        def __init__(self, *args, **kwargs):
            builds.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(inference, 'Compose', Counted)
    inferencer = Hand3DPoseInferencer(DEMO, None, det_model=None)
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 10.,
                             (224, 224))
    for i in range(3):
        writer.write(cv2.imread(_img(synthetic_root, i)))
    writer.release()
    images = [_img(synthetic_root, i) for i in range(3)]
    assert len(list(inferencer(images, draw_every=0))) == 3
    assert len(list(inferencer(images[0], bboxes=[40, 30, 190, 200]))) == 1
    assert len(list(inferencer(video, draw_every=0))) == 3
    assert len(builds) == 1
