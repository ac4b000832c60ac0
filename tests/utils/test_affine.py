# Copyright (c) peclr_mm authors. All rights reserved.
"""peclr_mm/utils/affine.py: the similarity, composition, inversion and crop
maths against OpenCV and mmpose."""
import cv2
import numpy as np
import pytest

from peclr_mm.utils.affine import (compose, crop_matrix, decompose_similarity,
                                   invert, similarity_about, transform_points)


def test_similarity_matches_opencv():
    for theta, s, t in [(30., 1.2, (3., -4.)), (-45., 0.8, (0., 0.)),
                        (0., 1., (10., 2.))]:
        ours = similarity_about((64., 50.), theta, s, t)
        ref = cv2.getRotationMatrix2D((64., 50.), theta, s)
        ref[:, 2] += t
        np.testing.assert_allclose(ours, ref, atol=1e-12)
        th, sc, sh = decompose_similarity(ours, (64., 50.))
        assert th == pytest.approx(theta)
        assert sc == pytest.approx(s)
        np.testing.assert_allclose(sh, t, atol=1e-9)


def test_compose_invert_round_trip():
    rng = np.random.default_rng(0)
    a = similarity_about((10, 20), 33., 1.3, (4, 5))
    c = crop_matrix((100, 90), 80., 128)
    pts = rng.uniform(0, 200, (10, 2))
    both = compose(a, c)
    np.testing.assert_allclose(
        transform_points(pts, both),
        transform_points(transform_points(pts, c), a),
        atol=1e-9)
    np.testing.assert_allclose(
        transform_points(transform_points(pts, both), invert(both)),
        pts,
        atol=1e-9)
    with pytest.raises(ValueError, match='similarity'):
        decompose_similarity(np.array([[1., 0.2, 0.], [0., 1., 0.]]), (0, 0))


def test_crop_matches_mmpose_warp_matrix():
    from mmpose.structures.bbox import get_warp_matrix
    ours = crop_matrix((120., 80.), 96., 128)
    ref = get_warp_matrix(
        np.array([120., 80.]), np.array([96., 96.]), 0., (128, 128))
    np.testing.assert_allclose(ours, ref, atol=1e-4)
