# Copyright (c) peclr_mm authors. All rights reserved.
"""Inference on one's own images: left hands by mirroring, and the camera
assumed when none is given."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmpose.apis import init_model

from peclr_mm.apis import (default_camera, inference_hand3d,
                           inference_pipeline, mirror_intrinsics)
from peclr_mm.utils.affine import crop_intrinsics
from peclr_mm.utils.camera import project

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'hand25d',
                'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')
RELEASED = osp.join(ROOT, 'configs', 'hand25d',
                    'hand25d_resnet50-peclr-released_freihand-224.py')


@pytest.fixture(scope='module')
def demo_model():
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
    np.testing.assert_allclose(
        left['keypoints_3d'],
        right['keypoints_3d'] * [-1, 1, 1],
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
    info = dict(img=img, img_shape=img.shape[:2])
    pipe = inference_pipeline(released_model, 'image')
    K, note = default_camera(released_model, info, pipe)
    crop = pipe.transforms[0](dict(info))['crop_mat']
    np.testing.assert_allclose(
        crop_intrinsics(K, crop), released_model.cfg.default_crop_K, atol=1e-9)
    assert "released model's default intrinsics" in note
    res = inference_hand3d(released_model, img)
    assert res['passes'] == 2 and res['K_source'] == note
    np.testing.assert_allclose(res['K'], K)
    assert np.isfinite(res['keypoints_3d']).all()
    demo_K, demo_note = default_camera(
        init_model(DEMO, None, device='cpu'), info, pipe)
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
