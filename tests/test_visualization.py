# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from peclr_mm.datasets.freihand3d import project
from peclr_mm.visualization import (FINGER_COLORS, HAND_LINKS,
                                    Hand3dLocalVisualizer, hand_skeleton)


def _sample(xyz, K, pred=None):
    s = PoseDataSample(metainfo=dict(K=K, img_path='x.jpg'))
    s.gt_instances = InstanceData(keypoints_3d=xyz[None])
    s.pred_instances = InstanceData(
        keypoints_3d=(xyz if pred is None else pred)[None])
    return s


def test_skeleton_comes_from_the_dataset_metainfo():
    import os.path as osp

    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    meta = parse_pose_metainfo(
        dict(
            from_file=osp.join(
                osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_',
                'datasets', 'freihand2d.py')))
    links, colors = hand_skeleton(meta)
    assert links == HAND_LINKS and len(links) == 20
    # thumb orange, pinky green, as mmpose's FreiHAND metainfo colours them
    np.testing.assert_allclose(FINGER_COLORS[0], (1., 128 / 255, 0.))
    np.testing.assert_allclose(FINGER_COLORS[4], (0., 1., 0.))
    # a dataset with its own skeleton is drawn with it
    vis = Hand3dLocalVisualizer(name='vis_meta_test')
    vis.set_dataset_meta(
        dict(skeleton_links=[(0, 1)], skeleton_link_colors=[[0, 0, 255]]))
    assert vis.links == [(0, 1)] and vis.colors == [(0., 0., 1.)]


def test_joints_are_drawn_where_the_camera_projects_them():
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(21, 3)) * 0.02 + [0, 0, 0.5]
    K = np.array([[400., 0, 112], [0, 400., 112], [0, 0, 1]])
    img = np.zeros((224, 224, 3), np.uint8)
    vis = Hand3dLocalVisualizer(name='vis_draw_test', panel_size=448)
    drawn = vis.add_datasample('x', img, _sample(xyz, K), out_file=None)
    # prediction, ground truth, 3-D view; each panel 448 px
    assert drawn.shape == (448, 3 * 448, 3)
    uv = project(xyz[None], K[None])[0]
    inside = (uv > 2).all(1) & (uv < 221).all(1)
    assert inside.sum() > 10
    for panel in (0, 1):
        p = drawn[:, panel * 448:(panel + 1) * 448]
        # each joint's dot: bright at 2x its image position
        pts = np.round((uv[inside] + .5) * 2 - .5).astype(int)
        assert (p[pts[:, 1], pts[:, 0]].max(1) > 200).all()
    # far from every joint and bone the image stays black
    assert drawn[440, 5].max() == 0


def test_prediction_and_truth_panels_differ_when_the_pose_does():
    xyz = np.random.default_rng(1).normal(size=(21, 3)) * 0.02 + [0, 0, .5]
    K = np.array([[400., 0, 112], [0, 400., 112], [0, 0, 1]])
    vis = Hand3dLocalVisualizer(name='vis_diff_test', panel_size=224)
    img = np.zeros((224, 224, 3), np.uint8)
    same = vis.add_datasample('x', img, _sample(xyz, K), out_file=None)
    np.testing.assert_array_equal(same[:, :224][30:], same[:, 224:448][30:])
    moved = vis.add_datasample(
        'x', img, _sample(xyz, K, xyz + [0.02, 0, 0]), out_file=None)
    assert (moved[:, :224][30:] != moved[:, 224:448][30:]).any()


def test_3d_panel_texts_do_not_overlap():
    """The --show-dir 3-D panel: title, axis labels and tick labels each in
    a place of its own at the panel's size."""
    import matplotlib.pyplot as plt

    from peclr_mm.visualization import hand3d_figure
    rng = np.random.default_rng(0)
    gt = rng.normal(scale=0.03, size=(21, 3)) + [0, 0, 0.6]
    for pred in (gt + rng.normal(scale=0.005, size=gt.shape), gt * 3):
        fig = hand3d_figure(pred, gt, 320, 'EPE 1786 PA-EPE 46 mm')
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [
            t.get_window_extent(renderer) for t in fig.findobj(
                match=lambda a: hasattr(a, 'get_text') and a.get_visible())
            if t.get_text().strip()
        ]
        # tick labels beyond the limits are laid out but off the picture
        boxes = [b for b in boxes if fig.bbox.overlaps(b)]
        plt.close(fig)
        assert len(boxes) >= 6  # title, two labels, ticks
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), (a, b)


def test_3d_view_is_drawn_fast_and_where_the_joints_are():
    """The OpenCV 3-D view the inferencer writes beside each picture:
    seen from the camera (azimuth 0) it keeps x to the right and y down;
    turned 90 degrees, depth runs across; no hands, a blank panel."""
    import time

    from peclr_mm.visualization import draw_hands3d_view
    xyz = np.random.default_rng(2).normal(size=(21, 3)) * 0.03 + [0, 0, .5]
    start = time.perf_counter()
    img = draw_hands3d_view([xyz], size=200, azimuth=0., elevation=0.)
    assert time.perf_counter() - start < 0.5
    assert img.shape == (200, 200, 3) and img.dtype == np.uint8
    bright = (img.max(2) > 200)
    bright[:20] = False  # the caption
    bright[-25:] = False  # the scale bar
    ys, xs = np.nonzero(bright)
    right, low = np.argmax(xyz[:, 0]), np.argmax(xyz[:, 1])
    # the rightmost joint's dot is in the right part, the lowest's low
    cx = (xyz[right, 0] - xyz[:, 0].mean()) > 0
    assert cx and xs.max() > 120
    assert xyz[low, 1] > xyz[:, 1].mean() and ys.max() > 120
    side = draw_hands3d_view([xyz], size=200, azimuth=90., elevation=0.)
    assert not np.array_equal(side, img)
    blank = draw_hands3d_view([], size=64, text='none')
    assert blank.shape == (64, 64, 3) and (blank[30:] == 40).all()
