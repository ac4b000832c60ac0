# Copyright (c) peclr_mm authors. All rights reserved.
import cv2
import numpy as np
import torch

from peclr_mm.datasets.transforms import (HSVJitter, MultiViewWithGeometry,
                                          PackPeCLRInputs)


def _reference_hsv(image, h, s, a, b):
    """The released PeCLR ``color_jitter_sample``, transcribed."""
    hue, sat, val = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
    hue = np.clip(hue * h, 0, 255)
    sat = np.clip(sat * s, 0, 255)
    val = np.clip(val * a + b, 0, 255)
    return cv2.cvtColor(
        cv2.merge([hue, sat, val]).astype(np.uint8), cv2.COLOR_HSV2BGR)


def test_hsv_jitter_matches_released_formula():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    np.random.seed(0)
    out = HSVJitter()(dict(img=img.copy()))
    h, s, a, b = out['hsv_factors']
    assert 0.01 <= h <= 1 and 0.01 <= s <= 1 and 0.5 <= a <= 1
    assert 5 <= b <= 20
    ref = _reference_hsv(img, h, s, a, b)
    # float32 tables vs float64 products: rounding differs by <= 1 level.
    diff = np.abs(out['img'].astype(int) - ref.astype(int))
    assert (diff > 1).mean() < 0.01, diff.max()
    assert not np.array_equal(out['img'], img)


def test_multiview_keeps_geometry_and_packs_it():
    np.random.seed(0)
    img = np.random.default_rng(0).integers(0, 256, (224, 224, 3), np.uint8)
    view = [
        dict(type='HandCanonicalCrop', input_size=64, padding=1.0),
        dict(type='RandomSimilarity'),
        dict(type='WarpView'),
        dict(type='HSVJitter'),
    ]
    mv = MultiViewWithGeometry(transforms=view, num_views=2)
    out = mv(
        dict(
            img=img,
            img_shape=(224, 224),
            img_path='x.jpg',
            keypoints=np.random.uniform(60, 160, (1, 21, 2))))
    assert len(out['img']) == 2 and out['img'][0].shape == (64, 64, 3)
    v1, v2 = out['views']
    assert v1['theta'] != v2['theta']
    assert not np.allclose(v1['warp_mat'], v2['warp_mat'])
    packed = PackPeCLRInputs()(out)
    assert [t.shape for t in packed['inputs']] == [(3, 64, 64)] * 2
    assert packed['inputs'][0].dtype == torch.uint8
    meta = packed['data_samples'].metainfo
    np.testing.assert_allclose(meta['view_theta'], [v1['theta'], v2['theta']])
    np.testing.assert_allclose(meta['view_s'], [v1['s'], v2['s']])
    assert meta['view_shift'].shape == (2, 2)
    assert meta['view_warp_mat'].shape == (2, 2, 3)
    assert meta['img_path'] == 'x.jpg'
    # The packed image is the view's image, channels first.
    np.testing.assert_array_equal(packed['inputs'][1].numpy(),
                                  v2['img'].transpose(2, 0, 1))


def test_multiview_runs_one_pipeline_per_view():
    """One pipeline per view: each view goes through its own, and a view
    count that differs from the pipelines' is refused."""
    import pytest
    img = np.zeros((8, 8, 3), np.uint8)
    mv = MultiViewWithGeometry(transforms=[
        [
            dict(type='HandCanonicalCrop', input_size=4, source='image'),
            dict(type='WarpView')
        ],
        [
            dict(type='HandCanonicalCrop', input_size=6, source='image'),
            dict(type='WarpView')
        ]
    ])
    out = mv(dict(img=img, img_shape=(8, 8)))
    assert mv.num_views == 2
    assert [v['img'].shape[:2] for v in out['views']] == [(4, 4), (6, 6)]
    assert MultiViewWithGeometry(transforms=[dict(
        type='WarpView')]).num_views == 2
    with pytest.raises(ValueError, match='per-view pipelines'):
        MultiViewWithGeometry(transforms=[[], [], []], num_views=2)
