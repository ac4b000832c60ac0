# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import torch
from mmpose.registry import MODELS

from peclr_mm.models.pose_estimators import TopdownHand3DEstimator
from peclr_mm.utils.affine import invert, transform_points
from tests.models.heads.test_hand25d_head import make_samples

SIZE = (64, 64)


def build_model():
    cfg = dict(
        type='TopdownHand3DEstimator',
        backbone=dict(type='ResNet', depth=18),
        head=dict(
            type='Hand25DHead',
            in_channels=512,
            codec=dict(type='Hand25DCodec', input_size=SIZE)),
        test_cfg=dict(flip_test=False))
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_predict_maps_back_through_rotated_warp():
    torch.manual_seed(0)
    model = build_model().eval()
    assert isinstance(model, TopdownHand3DEstimator)
    samples = make_samples(2, seed=3)
    for s in samples:  # rotation must be part of the warp under test
        assert abs(s.metainfo['warp_mat'][0, 1]) > 1e-3
    inputs = torch.randn(2, 3, SIZE[1], SIZE[0])
    with torch.no_grad():
        crop_preds = model.head.predict(model.extract_feat(inputs), samples)
        results = model(inputs, samples, mode='predict')
    assert len(results) == 2
    for crop, res in zip(crop_preds, results):
        pred = res.pred_instances
        warp = res.metainfo['warp_mat']
        expected = transform_points(crop.keypoints, invert(warp))
        assert pred.keypoints.shape == (1, 21, 2)
        np.testing.assert_allclose(pred.keypoints, expected, atol=1e-3)
        # forward check: the warp takes image px back to crop px
        np.testing.assert_allclose(
            transform_points(pred.keypoints, warp), crop.keypoints, atol=1e-3)
        # mmpose's centre/scale mapping (rotation ignored) would differ
        naive = crop.keypoints / warp[0, 0] - warp[:, 2] / warp[0, 0]
        assert np.abs(naive - pred.keypoints).max() > 1.
        assert pred.keypoints_3d.shape == (1, 21, 3)
        np.testing.assert_allclose(pred.keypoints_3d, crop.keypoints_3d)
        assert np.isfinite(pred.keypoints_3d).all()
        assert pred.keypoint_scores.shape == (1, 21)
        assert 'keypoints_visible' in pred


def test_loss_mode():
    torch.manual_seed(0)
    model = build_model().train()
    samples = make_samples(2, seed=4)
    losses = model(torch.randn(2, 3, SIZE[1], SIZE[0]), samples, mode='loss')
    assert {'loss_uv', 'loss_zrel', 'loss_zroot', 'mpjpe_mm'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
