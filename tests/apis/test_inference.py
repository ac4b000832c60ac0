# Copyright (c) peclr_mm authors. All rights reserved.
"""Inference on one's own images: left hands by mirroring, and the camera
assumed when none is given."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmpose.apis import init_model

from peclr_mm.apis import (DEFAULT_FOCAL_PER_SIDE, check_bone_length,
                           default_camera, default_intrinsics,
                           inference_hand3d, inference_pipeline,
                           inference_topdown_hand3d, landmark_confidence,
                           load_image, mirror_intrinsics, predict_hands)
from peclr_mm.utils.affine import crop_intrinsics
from peclr_mm.utils.camera import project

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'hand25d',
                'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')
RELEASED = osp.join(ROOT, 'configs', 'hand25d',
                    'hand25d_resnet50-peclr-released_freihand-224.py')


@pytest.fixture(scope='module')
def demo_model():
    import torch
    torch.manual_seed(1)  # random weights, the same in every run
    return init_model(DEMO, None, device='cpu')


@pytest.fixture(scope='module')
def released_model():
    cfg = Config.fromfile(RELEASED)
    cfg.model.backbone.depth = 18  # the released head and rules, cheaper
    cfg.model.head.in_channels = 512
    return init_model(cfg, None, device='cpu')


def _image(root, i=3):
    return cv2.imread(osp.join(root, 'evaluation', 'rgb', f'{i:08d}.jpg'))


@pytest.mark.parametrize('bbox', [None, (50., 40., 180., 200.)])
@pytest.mark.parametrize('recrop', [None, True])
def test_left_hand_is_the_mirror_of_the_right(demo_model, synthetic_root, bbox,
                                              recrop):
    img = _image(synthetic_root)
    w = img.shape[1]
    K = np.array([[600., 0., 100.], [0., 610., 120.], [0., 0., 1.]])
    right = inference_hand3d(demo_model, img, K=K, bbox=bbox, recrop=recrop)
    mirrored_K = mirror_intrinsics(K, w)
    mirrored_box = None if bbox is None else (w - 1 - bbox[2], bbox[1],
                                              w - 1 - bbox[0], bbox[3])
    left = inference_hand3d(
        demo_model,
        cv2.flip(img, 1),
        K=mirrored_K,
        bbox=mirrored_box,
        recrop=recrop,
        hand='left')
    assert left['hand'] == 'left' and left['passes'] == right['passes']
    assert right['passes'] == (2 if recrop else 1)
    # 0.01 mm for one pass; 0.1 mm with the re-crop, which is placed from
    # the first pass's float32 predictions: OpenCV's warp samples on a
    # 1/32 px grid, so a mirrored box lands on other grid points (measured
    # up to 0.02 mm in depth); a wrong hand is off by centimetres
    # relative as well: the untrained head puts its hands tens of metres
    # away, where its float32 noise is scaled up with the hand
    np.testing.assert_allclose(
        left['keypoints_3d'],
        right['keypoints_3d'] * [-1, 1, 1],
        rtol=1e-4 if recrop else 1e-5,
        atol=1e-4 if recrop else 1e-5)
    np.testing.assert_allclose(
        left['keypoints_2d'],
        np.stack(
            [w - 1 - right['keypoints_2d'][:, 0], right['keypoints_2d'][:, 1]],
            1),
        atol=0.03 if recrop else 1e-4)
    # the mirrored-back joints are consistent with the image's camera ...
    front = left['keypoints_3d'][:, 2] > 0.05
    np.testing.assert_allclose(
        project(left['keypoints_3d'], mirrored_K)[front],
        left['keypoints_2d'][front],
        atol=0.05)
    # ... and the recorded warp maps them into the crop that was predicted
    np.testing.assert_allclose(
        cv2.transform(left['keypoints_2d'][None], left['warp_mat'])[0],
        left['crop_2d'],
        atol=1e-3)
    assert not np.allclose(left['keypoints_3d'], right['keypoints_3d'])


def test_mirror_intrinsics_is_its_own_inverse():
    K = np.array([[600., 2., 100.], [0., 610., 120.], [0., 0., 1.]])
    M = mirror_intrinsics(K, 224)
    assert M[0, 0] == 600 and M[0, 2] == 223 - 100 and M[0, 1] == -2
    np.testing.assert_allclose(mirror_intrinsics(M, 224), K)
    X = np.array([[0.05, -0.02, 0.5]])
    np.testing.assert_allclose(
        project(X * [-1, 1, 1], M), [[223, 0]] + [[-1, 1]] * project(X, K))


def test_released_config_assumes_the_authors_crop_intrinsics(
        released_model, synthetic_root):
    img = _image(synthetic_root)
    info = inference_pipeline(released_model).crop(
        dict(img=img, img_shape=img.shape[:2]))
    K, note = default_camera(released_model, info)
    crop = info['crop_mat']
    np.testing.assert_allclose(
        crop_intrinsics(K, crop), released_model.cfg.default_crop_K, atol=1e-9)
    assert "released model's default intrinsics" in note
    res = inference_hand3d(released_model, img)
    assert res['passes'] == 2 and res['K_note'] == note
    assert res['K_source'] == 'assumed'
    np.testing.assert_allclose(res['K'], K)
    assert np.isfinite(res['keypoints_3d']).all()
    demo_K, demo_note = default_camera(
        init_model(DEMO, None, device='cpu'), info)
    assert demo_note.startswith('assumed: principal point')
    assert demo_K[0, 2] == img.shape[1] / 2


def test_bad_boxes_cameras_and_predictions_are_refused(demo_model,
                                                       synthetic_root):
    """A zero-area box (D5), a camera implausible for the image (D4's
    1e-30 focal) and a prediction that is not finite are refused naming the
    image, never returned."""
    import torch
    path = osp.join(synthetic_root, 'evaluation', 'rgb', '00000003.jpg')
    with pytest.raises(ValueError, match=r'00000003.jpg: bbox must be'):
        inference_hand3d(demo_model, path, bbox=(10, 10, 10, 10))
    tiny = np.array([[1e-30, 0, 0], [0, 1e-30, 0], [0, 0, 1.]])
    with pytest.raises(
            ValueError,
            match=r'00000003.jpg: the focal lengths '
            r'.* implausible for a 224x224 image'):
        inference_hand3d(demo_model, path, K=tiny)
    head = demo_model.head
    saved = head.final_layer.bias.detach().clone()
    with torch.no_grad():
        head.final_layer.bias.fill_(float('nan'))
    try:
        with pytest.raises(
                ValueError, match='00000003.jpg: the prediction '
                'is not finite'):
            inference_hand3d(demo_model, path)
    finally:
        with torch.no_grad():
            head.final_layer.bias.copy_(saved)
    assert np.isfinite(inference_hand3d(demo_model,
                                        path)['keypoints_3d']).all()


def test_the_stated_bone_length_holds_and_projections_stay(
        demo_model, synthetic_root):
    """The root refinement moves the hand along its rays; the output is
    scaled back about the camera centre so bone 9-10 is the stated length
    (docs/design.md section 9), the 2-D projections untouched."""
    import torch
    img = _image(synthetic_root)
    K = np.array([[300., 0., 112.], [0., 300., 112.], [0., 0., 1.]])
    refiner = demo_model.head.root_refiner[-1]
    saved = refiner.bias.detach().clone()
    with torch.no_grad():  # a trained refiner's move: 2 bone lengths
        refiner.bias.fill_(0.2)
    try:
        for bone in (0.025, 0.049):
            res = inference_topdown_hand3d(
                demo_model, img, [40, 30, 190, 200], K=K, bone_length=bone)
            raw = inference_topdown_hand3d(
                demo_model,
                img, [40, 30, 190, 200],
                K=K,
                bone_length=bone,
                keep_bone=False)
            xyz = np.asarray(res[0].pred_instances.keypoints_3d, np.float64)[0]
            unscaled = np.asarray(raw[0].pred_instances.keypoints_3d,
                                  np.float64)[0]
            assert abs(np.linalg.norm(xyz[9] - xyz[10]) / bone - 1) < 1e-4
            # the refiner did move it: without the rescale it is off
            assert abs(np.linalg.norm(unscaled[9] - unscaled[10]) / bone -
                       1) > 0.01
            np.testing.assert_allclose(
                project(xyz, K), project(unscaled, K), atol=1e-3)
    finally:
        with torch.no_grad():
            refiner.bias.copy_(saved)


def test_depth_follows_the_camera_and_the_hand_size(demo_model, synthetic_root,
                                                    monkeypatch):
    """A head that sees a known hand returns it; twice the focal length,
    twice as far; the same hand twice as large in the image, half as far."""
    import torch

    from peclr_mm.codecs.hand25d import encode_25d
    img = _image(synthetic_root)
    K = np.array([[300., 0., 112.], [0., 300., 112.], [0., 0., 1.]])
    small, big = [80., 80., 140., 140.], [50., 50., 170., 170.]
    (first, ) = inference_topdown_hand3d(demo_model, img, small, K=K)
    K_crop = crop_intrinsics(K, first.metainfo['warp_mat'])
    rng = np.random.default_rng(0)
    offsets = rng.normal(0, 0.02, (21, 3))
    bone = 0.03
    offsets *= bone / np.linalg.norm(offsets[9] - offsets[10])
    hand = offsets + [0.01, -0.01, 0.45]
    codec = demo_model.head.codec
    enc = encode_25d(
        hand[None], K_crop[None], bone, codec.root, root_slot=codec.root_slot)
    uv = torch.as_tensor(enc['uv'], dtype=torch.float32)
    z_rel = torch.as_tensor(enc['z_rel'], dtype=torch.float32)

    def seen(feats):
        n = (feats[-1] if isinstance(feats, (list, tuple)) else feats).shape[0]
        return uv.expand(n, -1, -1), z_rel.expand(n, -1)

    monkeypatch.setattr(demo_model.head, 'forward', seen)
    monkeypatch.setattr(demo_model.head, 'refine_scale', 0.)  # exact root
    res = inference_hand3d(demo_model, img, K=K, bbox=small, bone_length=bone)
    np.testing.assert_allclose(res['keypoints_3d'], hand, atol=1e-4)
    far = inference_hand3d(
        demo_model,
        img,
        K=K * [[2], [2], [1]] + [[0, 0, -112], [0, 0, -112], [0, 0, 0]],
        bbox=small,
        bone_length=bone)
    wrist = res['keypoints_3d'][0, 2]
    assert 1.9 < far['keypoints_3d'][0, 2] / wrist < 2.1
    near = inference_hand3d(demo_model, img, K=K, bbox=big, bone_length=bone)
    assert 0.45 < near['keypoints_3d'][0, 2] / wrist < 0.55


def test_a_phone_camera_is_assumed_and_exif_is_read(demo_model, synthetic_root,
                                                    tmp_path):
    """An unknown camera is a phone's (0.85 x the longer side); an EXIF
    35 mm focal is used where the photo has one."""
    from PIL import Image
    img = _image(synthetic_root)
    box = [40, 30, 190, 200]
    assert DEFAULT_FOCAL_PER_SIDE == 0.85
    np.testing.assert_allclose(
        default_intrinsics(640, 480),
        [[544., 0., 320.], [0., 544., 240.], [0., 0., 1.]])
    plain = inference_hand3d(demo_model, img, bbox=box)
    assert plain['K_source'] == 'assumed'
    assert plain['K'][0, 0] == pytest.approx(0.85 * 224)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26  # FocalLengthIn35mmFilm
    path = str(tmp_path / 'phone.jpg')
    Image.fromarray(img[..., ::-1]).save(path, exif=exif)
    assert load_image(path)['focal_35mm'] == 26
    res = inference_hand3d(demo_model, path, bbox=box)
    assert res['K_source'] == 'exif' and '26 mm' in res['K_note']
    assert res['K'][0, 0] == pytest.approx(26 / 36 * 224)


def test_units_and_cameras_that_do_not_fit_are_refused(demo_model,
                                                       synthetic_root):
    path = osp.join(synthetic_root, 'evaluation', 'rgb', '00000003.jpg')
    assert check_bone_length(0.0335) == 0.0335
    for value, unit in ((33.5, 'millimetres'), (3.35, 'centimetres')):
        with pytest.raises(ValueError, match=f'looks like {unit}'):
            check_bone_length(value, '--bone-length')
    with pytest.raises(ValueError, match='--bone-length must be .* 0.015'):
        check_bone_length(5e-4, '--bone-length')
    with pytest.raises(ValueError, match='looks like millimetres'):
        inference_hand3d(demo_model, path, bone_length=33.5)
    # a 640x480 camera on a 224 px photo (a crop's may lie outside)
    K = np.array([[600., 0., 320.], [0., 600., 240.], [0., 0., 1.]])
    with pytest.raises(
            ValueError,
            match=r'K for .*00000003.jpg: the principal point '
            r'.* outside the 224x224 image'):
        predict_hands(demo_model, path, K=K, whole_image_K=True)
    assert np.isfinite(
        inference_hand3d(demo_model, path, K=K)['keypoints_3d']).all()


def test_confidence_ranks_hands_by_agreement_with_landmarks(
        demo_model, synthetic_root):
    """A hand whose joints lie on the detector's landmarks scores 1, one a
    box-side tenth away 0.61, far off near 0; no landmarks, no score."""
    rng = np.random.default_rng(0)
    marks = rng.uniform(0, 100, (21, 2))
    box = [0, 0, 100, 100]
    joints, hand = landmark_confidence(marks, marks, box)
    assert hand == pytest.approx(1) and joints.shape == (21, )
    assert landmark_confidence(marks + [10, 0], marks, box)[1] == \
        pytest.approx(np.exp(-0.5))
    scores = [
        landmark_confidence(marks + rng.normal(0, s, (21, 2)), marks, box)[1]
        for s in (1, 5, 10, 20, 40)
    ]
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.1
    img = _image(synthetic_root)
    box = [40, 30, 190, 200]
    (plain, ) = inference_topdown_hand3d(demo_model, img, box)
    assert plain.metainfo['score'] is None
    assert np.isnan(plain.pred_instances.keypoint_scores).all()
    kpts = np.asarray(plain.pred_instances.keypoints, np.float64)[0]
    good, bad = inference_topdown_hand3d(
        demo_model,
        img, [box, box],
        landmarks=[kpts + 1, kpts + rng.normal(0, 30, (21, 2))])
    assert good.metainfo['score'] > 0.95 > 0.5 > bad.metainfo['score']
    # MediaPipe has no box score: the hand's confidence stands in for it
    assert good.pred_instances.bbox_scores[0] == pytest.approx(
        good.metainfo['score'])
