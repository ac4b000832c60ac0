# Copyright (c) peclr_mm authors. All rights reserved.
"""Pictures of what the model sees: 2-D skeleton over the image and a 3-D
view of the camera-frame joints."""
from typing import Optional

import numpy as np

__all__ = [
    'HAND_LINKS', 'FINGER_COLORS', 'hand_skeleton', 'draw_hand3d',
    'draw_skeleton_2d', 'draw_hands3d_view', 'render_hand3d', 'hand3d_figure',
    'Hand3dLocalVisualizer'
]


def hand_skeleton(metainfo: Optional[dict] = None) -> tuple:
    """``(links, colors)`` of a hand skeleton from a dataset's metainfo
    (``skeleton_links``, ``skeleton_link_colors`` as mmpose parses them;
    FreiHAND's by default): links as joint index pairs, colours RGB in
    [0, 1] per link."""
    if metainfo is None or 'skeleton_links' not in metainfo:
        # the datasets' metainfo: mmpose's FreiHAND file
        from .datasets.freihand3d import hand_metainfo
        metainfo = hand_metainfo('freihand3d')
    links = [
        tuple(int(i) for i in link) for link in metainfo['skeleton_links']
    ]
    colors = np.asarray(metainfo['skeleton_link_colors'], np.float64)
    if colors.max() > 1:
        colors = colors / 255.
    return links, [tuple(c) for c in colors]


#: FreiHAND's skeleton (wrist to each finger's base, then base to tip) and
#: one colour per link, from the dataset metainfo.
HAND_LINKS, LINK_COLORS = hand_skeleton()
#: One colour per finger (thumb, index, middle, ring, pinky), RGB in [0, 1].
FINGER_COLORS = LINK_COLORS[::4]


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
    for (a, b), c in zip(HAND_LINKS, LINK_COLORS):
        line(a, b, _bgr255(c), thickness)
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


def draw_hands3d_view(hands_3d,
                      size: int = 320,
                      azimuth: float = 60.,
                      elevation: float = 20.,
                      text: Optional[str] = None) -> np.ndarray:
    """The hands' 3-D skeletons seen from beside the camera, drawn with
    OpenCV (a few milliseconds, where matplotlib's :func:`draw_hand3d`
    takes hundreds: fast enough for every picture an inference writes).

    The camera-frame joints are turned about their common centre by
    ``azimuth`` degrees about the vertical (y) axis and ``elevation``
    degrees about the horizontal one, and drawn orthographically, scaled
    to fill the square; a scale bar gives millimetres.

    Args:
        hands_3d: a sequence of (21, 3) joint arrays in metres, camera
            frame (x right, y down, z forward).
        size: side of the square picture in pixels.
        azimuth: turn about y; 0 is the camera's own view, 90 looks from
            the right along -x.
        elevation: turn about x (looking down onto the hands).
        text: optional caption in the top-left corner.

    Returns:
        np.ndarray: (size, size, 3) uint8 BGR picture on a dark grey
        background (blank, with the caption, when there are no hands).
    """
    import cv2
    img = np.full((size, size, 3), 40, np.uint8)
    hands = [np.asarray(h, np.float64).reshape(-1, 3) for h in hands_3d]
    hands = [h for h in hands if np.isfinite(h).all()]
    if hands:
        a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
        ry = np.array([[np.cos(a), 0., -np.sin(a)], [0., 1., 0.],
                       [np.sin(a), 0., np.cos(a)]])
        rx = np.array([[1., 0., 0.], [0., np.cos(e), -np.sin(e)],
                       [0., np.sin(e), np.cos(e)]])
        pts = np.concatenate(hands)
        centre = pts.mean(0)
        turned = [(h - centre) @ (rx @ ry).T for h in hands]
        flat = np.concatenate(turned)[:, :2]
        half = max(np.abs(flat).max(), 1e-3)
        scale = 0.42 * size / half  # pixels per metre
        mid = size / 2.
        thickness = max(1, size // 200)
        for h in sorted(turned, key=lambda t: -t[:, 2].mean()):
            uv = np.round(h[:, :2] * scale + mid).astype(int)
            for (i, j), c in zip(HAND_LINKS, LINK_COLORS):
                if i < len(uv) and j < len(uv):
                    cv2.line(img, tuple(uv[i].tolist()), tuple(uv[j].tolist()),
                             _bgr255(c), thickness, cv2.LINE_AA)
            for p in uv:
                cv2.circle(img, tuple(p.tolist()), thickness + 1,
                           (255, 255, 255), -1, cv2.LINE_AA)
        # a scale bar of a round number of millimetres
        mm = [
            m for m in (5, 10, 20, 50, 100, 200, 500, 1000)
            if m / 1000 * scale <= size / 3
        ] or [5]
        bar = int(round(mm[-1] / 1000 * scale))
        y = size - 10
        cv2.line(img, (10, y), (10 + bar, y), (220, 220, 220), 1)
        cv2.putText(img, f'{mm[-1]} mm', (10, y - 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35, (220, 220, 220), 1, cv2.LINE_AA)
    caption = text or (f'3-D, turned {azimuth:g} deg about y')
    cv2.putText(img, caption, (5, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
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
    # the same drawer as every other 2-D picture, enlarged to stay legible
    # at the panel's size
    scale = max(1, int(np.ceil(400 / max(img_bgr.shape[:2]))))
    drawn = draw_skeleton_2d(img_bgr, keypoints_2d, scale, thickness=2)
    h, w = img_bgr.shape[:2]
    ax.imshow(drawn[..., ::-1], extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    ax.set_axis_off()
    ax.set_title('2-D joints (image pixels)')

    ax3 = fig.add_subplot(1, 2, 2, projection='3d')
    _plot_3d(ax3, keypoints_3d, gt_3d)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _plot_3d(ax3,
             keypoints_3d: np.ndarray,
             gt_3d: Optional[np.ndarray] = None) -> None:
    """The skeleton in the camera frame (mm) on a matplotlib 3-D axis; the
    ground truth dashed in black."""
    xyz = np.asarray(keypoints_3d, np.float64) * 1000
    for (a, b), c in zip(HAND_LINKS, LINK_COLORS):
        ax3.plot(*xyz[[a, b]].T, '-', color=c, lw=2)
        if gt_3d is not None:
            ax3.plot(
                *(np.asarray(gt_3d)[[a, b]] * 1000).T, '--', color='k', lw=1)
    # Camera frame: x right, y down, z forward; view it as seen from the
    # camera with y pointing down.
    ax3.view_init(elev=-70, azim=-90)
    pts = xyz if gt_3d is None else np.concatenate(
        [xyz, np.asarray(gt_3d) * 1000])
    centre = pts.mean(0)
    half = max(np.ptp(pts, axis=0).max() / 2, 10)
    for setter, c in zip((ax3.set_xlim, ax3.set_ylim, ax3.set_zlim), centre):
        setter(c - half, c + half)
    # few small ticks: at a panel's size the defaults run into each other
    # and into the labels; the depth axis points at the viewer, nearly
    # edge-on, so its ticks would pile up (no labels there)
    from matplotlib.ticker import MaxNLocator
    for axis, name in ((ax3.xaxis, 'x mm'), (ax3.yaxis, 'y mm')):
        axis.set_major_locator(MaxNLocator(3))
        axis.set_tick_params(labelsize=6, pad=0)
        axis.set_label_text(name, fontsize=7)
        axis.labelpad = -2
    ax3.set_zticklabels([])


def render_hand3d(keypoints_3d: np.ndarray,
                  gt_3d: Optional[np.ndarray] = None,
                  size: int = 320,
                  title: Optional[str] = None) -> np.ndarray:
    """The 3-D skeleton (and the ground truth, dashed) rendered to a
    ``(size, size, 3)`` RGB uint8 image.

    Args:
        keypoints_3d: (21, 3) joints in metres in the camera frame,
            FreiHAND order; the axes are drawn in millimetres.
        gt_3d: (21, 3) ground-truth joints in metres, or ``None``.
        size: side of the image in pixels.
        title: a title above the plot; ``None`` for none.

    Returns:
        np.ndarray: the (size, size, 3) RGB uint8 image.
    """
    import matplotlib.pyplot as plt
    fig = hand3d_figure(keypoints_3d, gt_3d, size, title)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return img


def hand3d_figure(keypoints_3d: np.ndarray,
                  gt_3d: Optional[np.ndarray] = None,
                  size: int = 320,
                  title: Optional[str] = None):
    """The matplotlib figure that :func:`render_hand3d` draws (the caller
    closes it)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
    # the title in a band of its own above the axes (tight_layout does not
    # know a 3-D axis' labels and lets them run into the title)
    top = 0.88 if title else 1.
    ax3 = fig.add_axes((0., 0., 1., top), projection='3d')
    _plot_3d(ax3, keypoints_3d, gt_3d)
    if title:
        fig.text(0.5, 0.97, title, ha='center', va='top', fontsize=8)
    return fig


def _import_visualizer_base():
    from mmengine.visualization import Visualizer
    from mmpose.registry import VISUALIZERS
    return Visualizer, VISUALIZERS


_Visualizer, _VISUALIZERS = _import_visualizer_base()


@_VISUALIZERS.register_module()
class Hand3dLocalVisualizer(_Visualizer):
    """What a 3-D hand model predicts, per sample: the predicted 2-D
    skeleton (the camera-frame joints projected with the sample's ``K``)
    over the image, the ground truth's beside it, and the 3-D skeleton
    against the ground truth (dashed). mmpose's ``Pose3dLocalVisualizer``
    is the model; the skeleton and colours come from the dataset metainfo
    (:meth:`set_dataset_meta`).

    Args:
        name, vis_backends, save_dir: as mmengine's ``Visualizer``.
        panel_size (int): side of each of the three panels in pixels.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 vis_backends: Optional[list] = None,
                 save_dir: Optional[str] = None,
                 panel_size: int = 320,
                 **kwargs):
        super().__init__(
            name=name, vis_backends=vis_backends, save_dir=save_dir, **kwargs)
        self.panel_size = panel_size
        self.links, self.colors = HAND_LINKS, LINK_COLORS

    def set_dataset_meta(self, dataset_meta: dict, *args, **kwargs) -> None:
        """Take the skeleton and colours from the dataset's metainfo."""
        self.dataset_meta = dataset_meta
        if dataset_meta and 'skeleton_links' in dataset_meta:
            self.links, self.colors = hand_skeleton(dataset_meta)

    def _skeleton(self, img: np.ndarray, uv: np.ndarray,
                  text: str) -> np.ndarray:
        import cv2
        h, w = img.shape[:2]
        scale = self.panel_size / max(h, w)
        img = cv2.resize(img, (round(w * scale), round(h * scale)))
        pts = (np.asarray(uv, np.float64) + .5) * scale - .5
        for (a, b), c in zip(self.links, self.colors):
            cv2.line(img, tuple(np.round(pts[a]).astype(int).tolist()),
                     tuple(np.round(pts[b]).astype(int).tolist()),
                     tuple(int(255 * v) for v in c), 2, cv2.LINE_AA)
        for p in np.round(pts).astype(int):
            cv2.circle(img, tuple(p.tolist()), 2, (255, 255, 255), -1,
                       cv2.LINE_AA)
        cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, .45,
                    (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, .45,
                    (255, 255, 255), 1, cv2.LINE_AA)
        canvas = np.zeros((self.panel_size, self.panel_size, 3), np.uint8)
        canvas[:img.shape[0], :img.shape[1]] = img
        return canvas

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       **kwargs) -> np.ndarray:
        """Draw one sample; save it to ``out_file`` (else to the
        visualizer's backends) and return the RGB picture.

        Args:
            image: the original image, RGB uint8.
            data_sample: a ``PoseDataSample`` with ``pred_instances.
                keypoints_3d`` (metres, camera frame), ``gt_instances.
                keypoints_3d`` and the metainfo ``K`` of the image.
        """
        import mmcv

        from .utils.camera import project
        K = np.asarray(data_sample.metainfo['K'], np.float64).reshape(3, 3)
        pred = gt = None
        if draw_pred and 'pred_instances' in data_sample:
            pred = np.asarray(data_sample.pred_instances.keypoints_3d).reshape(
                -1, 21, 3)[0]
        if draw_gt and 'gt_instances' in data_sample and \
                'keypoints_3d' in data_sample.gt_instances:
            gt = np.asarray(data_sample.gt_instances.keypoints_3d).reshape(
                -1, 21, 3)[0]
        panels = []
        caption = ''
        if pred is not None:
            if gt is not None:
                from .evaluation.functional import freihand_scores
                s = freihand_scores(pred[None], gt[None])
                caption = (f'EPE {s["epe_mm"]:.0f} PA-EPE '
                           f'{s["pa_epe_mm"]:.0f} mm')
            panels.append(
                self._skeleton(image.copy(),
                               project(pred[None], K[None])[0], 'prediction'))
        if gt is not None:
            panels.append(
                self._skeleton(image.copy(),
                               project(gt[None], K[None])[0], 'ground truth'))
        if pred is not None or gt is not None:
            panels.append(
                render_hand3d(
                    pred if pred is not None else gt,
                    gt if pred is not None else None,
                    size=self.panel_size,
                    title=caption or None))
        drawn = np.concatenate(panels, axis=1) if panels else image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
