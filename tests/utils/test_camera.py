# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
import torch

from peclr_mm.utils.arrays import NUM_JOINTS, check_points
from peclr_mm.utils.camera import backproject, check_intrinsics, project


def _scene(n=4):
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(n, NUM_JOINTS, 3)) * .03 + [0, 0, .6]
    K = np.stack([
        np.array([[f, 0, 112.], [0, f * 1.1, 100.], [0, 0, 1]])
        for f in rng.uniform(300, 600, n)
    ])
    return xyz, K


def test_projection_matches_the_design_formula_in_numpy_and_torch():
    xyz, K = _scene()
    ref = np.stack([(k @ x.T).T for x, k in zip(xyz, K)])
    ref = ref[..., :2] / ref[..., 2:]
    np.testing.assert_allclose(project(xyz, K), ref, rtol=1e-12)
    out = project(torch.from_numpy(xyz), torch.from_numpy(K))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    # one point with one camera
    np.testing.assert_allclose(project(xyz[0], K[0]), ref[0], rtol=1e-12)


def test_backprojection_undoes_the_projection():
    xyz, K = _scene()
    for lib in (np.asarray, torch.from_numpy):
        rays = backproject(lib(project(xyz, K)), lib(K))
        rays = np.asarray(rays)
        np.testing.assert_allclose(rays[..., 2], 1., rtol=1e-12)
        np.testing.assert_allclose(
            rays * xyz[..., 2:], xyz, rtol=1e-9, atol=1e-12)


def test_depth_guards():
    K = np.eye(3)
    behind = np.array([[[.1, .2, -.5], [.1, .2, 0.]]])
    # scoring: a point on or behind the camera plane counts as eps in front
    np.testing.assert_allclose(
        project(behind, K, eps=1e-3), [[[100., 200.], [100., 200.]]])
    # training: the sign is kept, zero is pushed to +eps
    np.testing.assert_allclose(
        project(behind, K, eps=1e-3, keep_sign=True),
        [[[-.2, -.4], [100., 200.]]])
    t = project(
        torch.tensor(behind),
        torch.eye(3, dtype=torch.float64),
        eps=1e-3,
        keep_sign=True)
    np.testing.assert_allclose(t.numpy(), [[[-.2, -.4], [100., 200.]]])


def test_bad_intrinsics_and_points_are_named():
    with pytest.raises(ValueError, match='K_cam: the focal lengths'):
        check_intrinsics([[0, 0, 1], [0, 1, 1], [0, 0, 1]], 'K_cam')
    with pytest.raises(ValueError, match='last row'):
        check_intrinsics([[1, 0, 1], [0, 1, 1], [0, 1, 1]])
    with pytest.raises(
            ValueError,
            match=r'pred.json: field 0 must have '
            r'shape \(N, 21, 3\)'):
        check_points(np.zeros((2, 20, 3)), 'pred.json: field 0')
    with pytest.raises(ValueError, match='non-finite value in sample 1'):
        check_points(
            np.array([np.zeros((21, 3)),
                      np.full((21, 3), np.nan)]), 'xyz')
    with pytest.raises(ValueError, match='ragged'):
        check_points([np.zeros((21, 3)), np.zeros((20, 3))], 'xyz')
