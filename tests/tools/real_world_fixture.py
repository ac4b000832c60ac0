# Copyright (c) peclr_mm authors. All rights reserved.
"""A tiny stand-in for the real-world hand test set of Ge et al., in its
layout (``images/%05d.jpg``, ``pose_gt.mat`` in cm, ``params.mat``): random
joints and images, never the set's own (its licence keeps it out of the
repository)."""
import os
import os.path as osp

import numpy as np

#: The set's camera: fx, fy, cx, cy of its 1280x720 frames.
CAM = (923.648, 923.759, 640.047, 362.336)


def frame_projection(xyz_cm: np.ndarray) -> np.ndarray:
    """(N, 21, 2) pixels of the joints in the full frame."""
    fx, fy, cx, cy = CAM
    return np.stack([
        fx * xyz_cm[..., 0] / xyz_cm[..., 2] + cx,
        fy * xyz_cm[..., 1] / xyz_cm[..., 2] + cy
    ], -1)


def write_real_world_fixture(root: str,
                             num: int = 4,
                             size: int = 64,
                             seed: int = 0) -> dict:
    """Write ``num`` frames of ``size`` px crops at ``root``.

    Returns:
        dict: ``xyz_cm`` (num, 21, 3), ``bbox`` (num, 4) x, y, w, h.
    """
    import cv2
    from scipy.io import savemat
    rng = np.random.default_rng(seed)
    centre = np.array([0., 5., 45.]) + rng.normal(0, [5, 3, 4], (num, 1, 3))
    xyz = centre + rng.normal(0, 4., (num, 21, 3))
    uv = frame_projection(xyz)
    lo, hi = uv.min(1), uv.max(1)
    side = np.ceil((hi - lo).max(1) * 1.4).astype(int)
    corner = np.floor((lo + hi) / 2 - side[:, None] / 2).astype(int)
    bbox = np.concatenate([corner, side[:, None], side[:, None]], 1)
    os.makedirs(osp.join(root, 'images'))
    ramp = np.linspace(0, 255, size, dtype=np.float64)
    for n in range(num):
        img = np.empty((size, size, 3), np.uint8)
        # left to right ramp in blue, noise elsewhere: a flip is visible
        img[..., 0] = ramp[None].astype(np.uint8)
        img[..., 1:] = rng.integers(0, 256, (size, size, 2), np.uint8)
        cv2.imwrite(osp.join(root, 'images', f'{n:05d}.jpg'), img)
    savemat(
        osp.join(root, 'pose_gt.mat'), dict(pose_gt=xyz.astype(np.float32)))
    savemat(
        osp.join(root, 'params.mat'),
        dict(
            cam_param=np.tile(np.array(CAM), (num, 1)),
            bbox=bbox.astype(np.int32)))
    return dict(xyz_cm=xyz.astype(np.float32).astype(np.float64), bbox=bbox)
