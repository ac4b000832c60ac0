# Copyright (c) peclr_mm authors. All rights reserved.
"""Pictures of what the model sees: 2-D skeleton over the image and a 3-D
view of the camera-frame joints."""
from typing import Optional

import numpy as np

__all__ = ['HAND_LINKS', 'FINGER_COLORS', 'draw_hand3d', 'draw_skeleton_2d']

#: FreiHAND's skeleton: wrist to each finger's base, then base to tip.
HAND_LINKS = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8),
              (0, 9), (9, 10), (10, 11), (11, 12), (0, 13), (13, 14), (14, 15),
              (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]
#: One colour per finger (thumb, index, middle, ring, pinky), RGB in [0, 1].
FINGER_COLORS = [(1., .5, 0.), (.9, .1, .9), (.1, .5, 1.), (1., .1, .1),
                 (.1, .8, .1)]


def _bgr255(rgb) -> tuple:
    return tuple(int(round(255 * c)) for c in rgb[::-1])


def draw_skeleton_2d(img_bgr: np.ndarray,
                     keypoints_2d: np.ndarray,
                     scale: int = 1,
                     root_2d: Optional[np.ndarray] = None,
                     ref_bone: Optional[tuple] = None,
                     text: Optional[str] = None,
                     thickness: int = 1) -> np.ndarray:
    """The skeleton drawn over a copy of an image, with OpenCV (fast enough
    to draw every sample of a data set).

    Args:
        img_bgr: (H, W, 3) uint8 BGR.
        keypoints_2d: (21, 2) pixels of ``img_bgr`` (pixel centres at
            integers, as the warps place them).
        scale: the image is enlarged this many times first, so small views
            stay legible; the keypoints are scaled with it.
        root_2d: optional (2,) projection of the 2.5-D root, drawn as a
            white ring.
        ref_bone: optional joint pair of the reference bone, drawn thick
            in white under its finger's colour.
        text: optional caption in the top-left corner.
        thickness: line width in pixels of the enlarged image.

    Returns:
        np.ndarray: the drawn image, ``scale`` times larger.
    """
    import cv2
    img = np.ascontiguousarray(img_bgr, dtype=np.uint8)
    if scale != 1:
        img = cv2.resize(
            img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    # pixel centre i of the source is the centre of block i of the enlarged
    pts = (np.asarray(keypoints_2d, np.float64) + 0.5) * scale - 0.5
    shift = 4  # sub-pixel drawing
    fixed = np.round(pts * (1 << shift)).astype(np.int64)

    def line(a, b, colour, width):
        cv2.line(img, tuple(fixed[a].tolist()), tuple(fixed[b].tolist()),
                 colour, width, cv2.LINE_AA, shift)

    if ref_bone is not None:
        line(ref_bone[0], ref_bone[1], (255, 255, 255), thickness + 3)
    for i, (a, b) in enumerate(HAND_LINKS):
        line(a, b, _bgr255(FINGER_COLORS[i // 4]), thickness)
    for p in fixed:
        cv2.circle(img, tuple(p.tolist()), (thickness + 1) << shift,
                   (255, 255, 255), -1, cv2.LINE_AA, shift)
    if root_2d is not None:
        r = np.round(((np.asarray(root_2d, np.float64) + 0.5) * scale - 0.5) *
                     (1 << shift)).astype(np.int64)
        cv2.circle(img, tuple(r.tolist()), (thickness + 4) << shift,
                   (255, 255, 255), thickness, cv2.LINE_AA, shift)
    if text:
        for k, row in enumerate(text.split('\n')):
            org = (3, 12 + 13 * k)
            cv2.putText(img, row, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(img, row, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 255), 1, cv2.LINE_AA)
    return img


def draw_hand3d(img_bgr: np.ndarray,
                keypoints_2d: np.ndarray,
                keypoints_3d: np.ndarray,
                out_file: str,
                title: Optional[str] = None,
                gt_3d: Optional[np.ndarray] = None) -> None:
    """Save a two-panel PNG: the skeleton on the image and in 3-D (mm).

    Args:
        img_bgr: the image (H, W, 3) BGR uint8.
        keypoints_2d: (21, 2) image pixels.
        keypoints_3d: (21, 3) metres, camera frame.
        out_file: PNG path.
        title: figure title.
        gt_3d: optional (21, 3) ground truth drawn dashed in the 3-D panel.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 5))
    ax = fig.add_subplot(1, 2, 1)
    ax.imshow(img_bgr[..., ::-1])
    for i, (a, b) in enumerate(HAND_LINKS):
        c = FINGER_COLORS[i // 4]
        ax.plot(*keypoints_2d[[a, b]].T, '-', color=c, lw=2)
    ax.scatter(*keypoints_2d.T, s=10, c='w', edgecolors='k', zorder=3)
    ax.set_axis_off()
    ax.set_title('2-D joints (image pixels)')

    ax3 = fig.add_subplot(1, 2, 2, projection='3d')
    xyz = keypoints_3d * 1000
    for i, (a, b) in enumerate(HAND_LINKS):
        c = FINGER_COLORS[i // 4]
        ax3.plot(*xyz[[a, b]].T, '-', color=c, lw=2)
        if gt_3d is not None:
            ax3.plot(*(gt_3d[[a, b]] * 1000).T, '--', color='k', lw=1)
    # Camera frame: x right, y down, z forward; view it as seen from the
    # camera with y pointing down.
    ax3.view_init(elev=-70, azim=-90)
    centre = xyz.mean(0)
    half = max(np.ptp(xyz, axis=0).max() / 2, 10)
    for setter, c in zip((ax3.set_xlim, ax3.set_ylim, ax3.set_zlim), centre):
        setter(c - half, c + half)
    ax3.set_xlabel('x mm')
    ax3.set_ylabel('y mm')
    ax3.set_zlabel('z mm')
    ax3.set_title('3-D joints, camera frame')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
