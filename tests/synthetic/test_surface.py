# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np

import peclr_synthetic as synthetic
from peclr_synthetic.hand_model import project
from peclr_synthetic.surface import (_FAR, PART_FINGER, PART_NONE, PART_PALM,
                                     rasterise_hand)


def open_hand():
    """A flat open right hand, palm towards the camera, 0.5 m away."""
    rng = np.random.default_rng(0)
    for _ in range(100):
        xyz, K = synthetic.sample_hand(rng)
        surf = rasterise_hand(xyz, K, 224)
        if surf.palm_front and (surf.part == PART_PALM).mean() > 0.05:
            return xyz, K, surf
    raise AssertionError('no palm view found')


def test_finger_in_front_occludes_the_palm():
    """A finger bent in front of the palm hides it: the pixels where the
    finger's projection falls show the finger, nearer than the palm."""
    xyz, K, _ = open_hand()
    palm_centre = xyz[[0, 5, 9, 13, 17]].mean(axis=0)
    moved = xyz.copy()
    # Lay the index finger 3 cm in front of the palm's centre.
    toward = -palm_centre / np.linalg.norm(palm_centre)
    moved[6:9] = palm_centre + toward * 0.03 + (xyz[6:9] - xyz[5]) * 0.3
    surf = rasterise_hand(moved, K, 224)
    u, v = np.round(project(moved[7:8], K)[0]).astype(int)
    assert surf.part[v, u] in (PART_FINGER, 3)
    # The palm's front face is ~1.2 cm in front of its centre.
    assert surf.depth[v, u] < palm_centre[2] - 0.025
    # Without the finger there, the same pixel shows the palm, farther.
    alone = rasterise_hand(xyz, K, 224)
    u, v = np.round(project(palm_centre[None], K)[0]).astype(int)
    if alone.part[v, u] == PART_PALM:
        assert alone.depth[v, u] > palm_centre[2] - 0.02


def test_skin_where_the_joints_project():
    on = total = 0
    for k in range(40):
        xyz, K = synthetic.sample_hand(np.random.default_rng([7, k]))
        surf = rasterise_hand(xyz, K, 224)
        uv = np.clip(np.round(project(xyz, K)).astype(int), 0, 223)
        hit = surf.part[uv[:, 1], uv[:, 0]]
        on += int((hit != PART_NONE).sum())  # skin (the wrist: arm too)
        total += len(uv)
        assert np.all(surf.depth[surf.part != PART_NONE] < _FAR)
        assert np.all(surf.depth[surf.part != PART_NONE] > 0.1)
    assert on / total >= 0.97


def test_normals_face_the_camera():
    _, _, surf = open_hand()
    n = surf.normal[surf.part != PART_NONE]
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-3)
    assert (n[:, 2] <= 0.05).mean() > 0.99


def test_render_is_deterministic_and_versions_share_the_hand():
    xyz, K = synthetic.sample_hand(np.random.default_rng(4))
    a, mask_a = synthetic.render_hand(xyz, K, np.random.default_rng(1))
    b, mask_b = synthetic.render_hand(xyz, K, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mask_a, mask_b)
    c, mask_c = synthetic.render_hand(xyz, K, np.random.default_rng(2))
    np.testing.assert_array_equal(mask_a, mask_c)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 10


def test_views_and_focal_lengths_like_freihand():
    """Mostly palm or back views (the palm normal within 70 degrees of the
    line of sight), fingers mostly up, focal lengths around 490 px."""
    focal, facing, upright = [], [], []
    for k in range(300):
        xyz, K = synthetic.sample_hand(np.random.default_rng([11, k]))
        side = xyz[5] - xyz[17]
        up = xyz[9] - xyz[0]
        normal = np.cross(side, up)
        normal /= np.linalg.norm(normal)
        sight = xyz[0] / np.linalg.norm(xyz[0])
        facing.append(abs(normal @ sight) > np.cos(np.radians(70)))
        upright.append(up[1] < 0)
        focal.append(K[0, 0])
    assert np.mean(facing) > 0.9
    assert 0.7 < np.mean(upright) < 0.98
    assert 380 < np.median(focal) < 620
    assert min(focal) < 300 and max(focal) > 800


def test_forearm_leaves_the_frame():
    """The forearm reaches the image border in most renders and is not
    part of the hand's mask beyond the wrist."""
    from peclr_synthetic.surface import PART_ARM
    leaves = 0
    for k in range(30):
        xyz, K = synthetic.sample_hand(np.random.default_rng([13, k]))
        surf = rasterise_hand(xyz, K, 224)
        arm = surf.part == PART_ARM
        border = np.concatenate([arm[0], arm[-1], arm[:, 0], arm[:, -1]])
        leaves += bool(border.any())
        assert not (surf.mask & arm & (surf.along > 0.1)).any()
    assert leaves >= 24


def test_photo_backgrounds():
    """Backgrounds from scikit-image's photographs when it is installed
    (none otherwise): a jittered crop of the image's size."""
    from peclr_synthetic.renderer import _photo_background, _photos
    img = _photo_background(np.random.default_rng(0), 96)
    if not _photos():
        assert img is None
        return
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    again = _photo_background(np.random.default_rng(0), 96)
    np.testing.assert_array_equal(img, again)
