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


def _crop_of(img, center, side, size=64, antialias=True):
    from peclr_mm.datasets.transforms import HandCanonicalCrop, WarpView
    h, w = img.shape[:2]
    half = side / 2.
    res = dict(
        img=img,
        img_shape=(h, w),
        bbox=np.array([[
            center[0] - half, center[1] - half, center[0] + half,
            center[1] + half
        ]]))
    res = HandCanonicalCrop(input_size=size, padding=1., source='bbox')(res)
    return WarpView(antialias=antialias)(res)


def test_large_images_are_antialiased():
    """A 4096 px upscale of a 256 px image with noise of its own (a phone
    photo's), cropped to the same region, gives the original's crop
    (issue 36, item 8): the crop that shrinks 16x is area-prefiltered;
    without it, it is another picture."""
    import cv2
    rng = np.random.default_rng(0)
    small = cv2.GaussianBlur(
        rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), (0, 0), 1.)
    big = cv2.resize(small, (4096, 4096), interpolation=cv2.INTER_NEAREST)
    big = np.clip(big + rng.normal(0, 40, big.shape), 0, 255).astype(np.uint8)
    ref = _crop_of(small, (128., 120.), 64.)['img'].astype(float)
    # pixel centres: u_big = 16 (u + 0.5) - 0.5
    center = (16 * 128.5 - .5, 16 * 120.5 - .5)
    new = _crop_of(big, center, 64. * 16)['img'].astype(float)
    old = _crop_of(big, center, 64. * 16, antialias=False)['img'].astype(float)
    assert np.abs(new - ref).mean() < 3  # measured 2.0 grey levels
    assert np.abs(old - ref).mean() > 10  # aliasing: 15.8
    # no prefilter where the warp does not shrink by more than 2x
    np.testing.assert_array_equal(
        _crop_of(small, (128., 120.), 100.)['img'],
        _crop_of(small, (128., 120.), 100., antialias=False)['img'])


def test_antialiased_warp_mat_is_exact():
    """The recorded warp_mat is still the map from source to view after the
    prefilter: a bright disc lands where warp_mat sends its centre, also
    rotated, scaled and mirrored (model-free)."""
    import cv2

    from peclr_mm.datasets.transforms import (FixedSimilarity,
                                              HandCanonicalCrop, WarpView)
    from peclr_mm.utils.affine import transform_points
    img = np.zeros((3000, 4000, 3), np.uint8)
    dot = np.array([2311.3, 1402.7])
    cv2.circle(
        img, (int(round(dot[0] * 16)), int(round(dot[1] * 16))),
        60 * 16, (255, 255, 255),
        -1,
        cv2.LINE_AA,
        shift=4)
    for theta, left in ((0., False), (30., False), (-50., True)):
        res = dict(
            img=img,
            img_shape=img.shape[:2],
            is_left=left,
            bbox=np.array([[1900., 1000., 2900., 2000.]]))
        res = HandCanonicalCrop(input_size=128, padding=1.2)(res)
        res = FixedSimilarity(theta=theta, s=1.1, shift=(.05, -.03))(res)
        res = WarpView()(res)
        out = res['img'][..., 0].astype(float)
        ys, xs = np.mgrid[:128, :128]
        found = np.array([(out * xs).sum(), (out * ys).sum()]) / out.sum()
        expected = transform_points(dot, res['warp_mat'])
        assert np.abs(found - expected).max() < 0.1, (theta, found, expected)


def test_input_size_must_be_positive():
    from peclr_mm.datasets.transforms import HandCanonicalCrop
    for bad in (0, -3, (0, 0), 1.5, 'x'):
        with pytest.raises(ValueError, match='input_size must be'):
            HandCanonicalCrop(input_size=bad)
    assert HandCanonicalCrop(input_size=(64, 64)).input_size == (64, 64)
