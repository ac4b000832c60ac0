# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
from mmcv.transforms import Compose

from peclr_mm.datasets.transforms import (FixedSimilarity, HandCanonicalCrop,
                                          RandomSimilarity, WarpView)
from peclr_mm.utils.affine import (compose, crop_intrinsics, similarity_about,
                                   transform_points)


def _blob_image(points, size=(240, 320), sigma=2.0):
    """A float image with one Gaussian dot per point (x, y)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w), np.float64)
    for x, y in points:
        img += np.exp(-((xx - x)**2 + (yy - y)**2) / (2 * sigma**2))
    return img


def _centroid(img):
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    m = img.sum()
    return np.array([(xx * img).sum() / m, (yy * img).sum() / m])


def _view_pipeline(size=128, padding=1.25, **sim):
    return Compose([
        HandCanonicalCrop(input_size=size, padding=padding),
        RandomSimilarity(**sim),
        WarpView()
    ])


@pytest.mark.parametrize('seed', range(6))
def test_dot_lands_where_warp_mat_says(seed):
    """A dot drawn on the source lands in the view where warp_mat maps it,
    within half a pixel (bilinear resampling of a Gaussian blob)."""
    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    kpts = rng.uniform([100, 80], [220, 160], (21, 2))
    dot = kpts.mean(0) + rng.uniform(-15, 15, 2)
    img = _blob_image([dot])
    pipe = _view_pipeline(
        rotate=45., margin_range=(0.9, 1.5), shift=14. / 128.)
    out = pipe(
        dict(
            img=(img * 1000).astype(np.float32),
            img_shape=img.shape,
            keypoints=kpts[None]))
    expected = transform_points(dot, out['warp_mat'])
    found = _centroid(out['img'].astype(np.float64))
    assert np.abs(found - expected).max() < 0.5, (found, expected)
    np.testing.assert_allclose(
        out['transformed_keypoints'][0],
        transform_points(kpts, out['warp_mat']),
        atol=1e-3)


def test_warp_mat_is_similarity_after_crop():
    np.random.seed(3)
    kpts = np.random.uniform(50, 150, (1, 21, 2))
    size = 128
    out = _view_pipeline(size=size)(
        dict(
            img=np.zeros((224, 224, 3), np.uint8),
            img_shape=(224, 224),
            keypoints=kpts))
    aug = similarity_about((size / 2, size / 2), out['theta'], out['s'],
                           np.asarray(out['shift']) * size)
    np.testing.assert_allclose(
        out['warp_mat'], compose(aug, out['crop_mat']), atol=1e-4)
    # The recorded numbers are the paper's ranges.
    assert abs(out['theta']) <= 45.
    assert 1 / 1.5 <= out['s'] <= 1 / 0.9
    assert np.all(np.abs(out['shift']) <= 14. / 128.)
    # The canonical crop is a square around the keypoints.
    lo, hi = kpts[0].min(0), kpts[0].max(0)
    np.testing.assert_allclose(out['crop_center'], (lo + hi) / 2)
    assert out['crop_size'] == pytest.approx(max(hi - lo) * 1.25)


def test_crop_sources():
    base = dict(img=np.zeros((100, 200, 3), np.uint8), img_shape=(100, 200))
    whole = HandCanonicalCrop(input_size=64)(dict(base))
    np.testing.assert_allclose(whole['crop_center'], [100, 50])
    assert whole['crop_size'] == 200
    boxed = HandCanonicalCrop(
        input_size=64, padding=2.)(
            dict(base, bbox=np.array([[10., 20., 50., 40.]])))
    np.testing.assert_allclose(boxed['crop_center'], [30, 30])
    assert boxed['crop_size'] == 80
    with pytest.raises(ValueError, match='crop source'):
        HandCanonicalCrop(source='face')


def test_k_crop_projects_onto_transformed_keypoints():
    rng = np.random.default_rng(1)
    xyz = rng.uniform([-0.05, -0.05, 0.5], [0.05, 0.05, 0.7], (21, 3))
    K = np.array([[500., 0, 112], [0, 500., 112], [0, 0, 1]])
    uvw = xyz @ K.T
    uv = uvw[:, :2] / uvw[:, 2:]
    np.random.seed(1)
    out = _view_pipeline()(
        dict(
            img=np.zeros((224, 224, 3), np.uint8),
            img_shape=(224, 224),
            keypoints=uv[None],
            K=K))
    uvw = xyz @ out['K_crop'].T
    np.testing.assert_allclose(
        uvw[:, :2] / uvw[:, 2:], out['transformed_keypoints'][0], atol=1e-2)
    np.testing.assert_allclose(
        out['K_crop'], crop_intrinsics(K, out['warp_mat']), atol=1e-3)


def test_identity_when_no_augmentation():
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    out = Compose([HandCanonicalCrop(input_size=64),
                   WarpView()])(
                       dict(img=img, img_shape=(64, 64)))
    np.testing.assert_array_equal(out['img'], img)
    assert out['theta'] == 0 and out['s'] == 1
    np.testing.assert_allclose(out['warp_mat'], np.eye(3)[:2])


def test_fixed_similarity_moves_a_dot_as_recorded():
    """A dot at the view centre plus (10, 0) px, rotated by 90 degrees and
    shifted by (0.1, 0) of a 64 px view, lands at the centre plus (6.4, -10)
    (y down: counter-clockwise on screen), and the recorded values are the
    chosen ones."""
    size, centre = 64, np.array([32., 32.])  # similarity_about's centre
    img = _blob_image([centre + [10, 0]], size=(size, size))
    pipe = Compose([
        HandCanonicalCrop(input_size=size, padding=1.),
        FixedSimilarity(theta=90., shift=(0.1, 0.)),
        WarpView()
    ])
    out = pipe(
        dict(
            img=(img * 1000).astype(np.float32),
            img_shape=img.shape,
            bbox=np.array([[0., 0., size, size]])))
    assert (out['theta'], out['s']) == (90., 1.)
    np.testing.assert_allclose(out['shift'], [0.1, 0.])
    expected = transform_points(centre + [10, 0], out['warp_mat'])
    np.testing.assert_allclose(out['aug_mat'],
                               similarity_about((32, 32), 90., 1., (6.4, 0.)))
    found = _centroid(out['img'].astype(np.float64))
    assert np.abs(found - expected).max() < 0.5, (found, expected)
    np.testing.assert_allclose(expected, centre + [6.4, -10], atol=1e-4)
    with pytest.raises(ValueError, match='s must be positive'):
        FixedSimilarity(s=0.)
