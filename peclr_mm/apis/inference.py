# Copyright (c) peclr_mm authors. All rights reserved.
"""3-D hand pose on one's own images (unknown camera, unknown scale, either
hand)."""
import copy
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate

from ..utils.affine import compose, to_homogeneous, transform_points
from ..utils.arrays import check_bbox
from ..utils.camera import check_intrinsics, project

__all__ = [
    'inference_hand3d', 'inference_pipeline', 'default_intrinsics',
    'default_camera', 'check_intrinsics', 'check_bbox', 'mirror_matrix',
    'mirror_intrinsics', 'DEFAULT_BONE_LENGTH'
]

#: Length of bone 9-10 (middle-finger MCP to PIP) assumed when the user
#: gives none: about the mean of FreiHAND's ``training_scale.json``.
DEFAULT_BONE_LENGTH = 0.0335
#: Focal length in units of the image's longer side assumed when the camera
#: is unknown: a FreiHAND-like field of view (about 600 px at 224 px).
DEFAULT_FOCAL_PER_SIDE = 2.7
HANDS = ('right', 'left')


def default_intrinsics(width: int, height: int) -> np.ndarray:
    """A pinhole camera with the principal point at the image centre and a
    FreiHAND-like field of view, for images whose camera is unknown.

    Args:
        width: image width W in pixels.
        height: image height H in pixels.

    Returns:
        np.ndarray: (3, 3) float64 intrinsics in pixels, focal
        ``DEFAULT_FOCAL_PER_SIDE * max(W, H)``, principal point
        ``(W / 2, H / 2)``.
    """
    f = DEFAULT_FOCAL_PER_SIDE * max(width, height)
    return np.array([[f, 0., width / 2.], [0., f, height / 2.], [0., 0., 1.]])


def mirror_matrix(width: int) -> np.ndarray:
    """The 2x3 affine map of ``cv2.flip(img, 1)`` on an image of ``width``
    columns: ``u -> width - 1 - u``. Its own inverse."""
    return np.array([[-1., 0., width - 1.], [0., 1., 0.]])


def mirror_intrinsics(K: np.ndarray, width: int) -> np.ndarray:
    """The camera of the image mirrored left-right (``cv2.flip(img, 1)``,
    column ``u`` -> ``width - 1 - u``) when the scene is mirrored in ``x``:
    ``F @ K @ diag(-1, 1, 1)``; fx stays positive, the principal point
    moves to ``width - 1 - cx``. Its own inverse.

    Args:
        K: (3, 3) intrinsics of the unmirrored image, in pixels.
        width: image width W in pixels.

    Returns:
        np.ndarray: (3, 3) float64 intrinsics of the mirrored image.
    """
    return to_homogeneous(mirror_matrix(width)) @ np.asarray(
        K, np.float64) @ np.diag([-1., 1., 1.])


def _crop_step(pipeline: Compose):
    from ..datasets.transforms import HandCanonicalCrop
    for t in pipeline.transforms:
        if isinstance(t, HandCanonicalCrop):
            return t
    raise ValueError('the test pipeline of the model config has no '
                     'HandCanonicalCrop: inference needs it to crop')


def inference_pipeline(model: torch.nn.Module,
                       source: str,
                       padding: Optional[float] = None) -> Compose:
    """The model config's test pipeline after loading, its crop drawn from
    ``source`` (``'image'`` or ``'bbox'``) and, when given, ``padding``;
    the source image kept for a second pass.

    Args:
        model: a ``TopdownHand3DEstimator`` with its config as ``cfg``;
            its ``test_dataloader.dataset.pipeline`` is used, without its
            ``Load*`` steps.
        source: what ``HandCanonicalCrop`` crops: ``'image'`` (the whole
            image) or ``'bbox'`` (the sample's ``bbox``).
        padding: box enlargement of ``HandCanonicalCrop``; ``None`` keeps
            the config's.

    Returns:
        Compose: the pipeline, to call on a loaded sample dict.
    """
    steps = []
    for t in copy.deepcopy(model.cfg.test_dataloader.dataset.pipeline):
        if t['type'].split('.')[-1].startswith('Load'):
            continue
        if t['type'].split('.')[-1] == 'HandCanonicalCrop':
            t['source'] = source
            if padding is not None:
                t['padding'] = padding
        elif t['type'].split('.')[-1] == 'WarpView':
            t['keep_source'] = True  # for a second pass, if asked for
        steps.append(t)
    return Compose(steps)


def default_camera(model: torch.nn.Module, info: dict,
                   pipeline: Compose) -> Tuple[np.ndarray, str]:
    """Intrinsics for an image whose camera is unknown, and what they are.

    A config with ``default_crop_K`` (the released PeCLR models: their
    ``K_default``, the intrinsics of the 224 px crop) gets the image camera
    that gives its first crop exactly those; other configs get
    :func:`default_intrinsics`.

    Args:
        model: a ``TopdownHand3DEstimator`` with its config as ``cfg``.
        info: the loaded sample (``img``, ``img_shape`` (H, W, ...) and,
            for a bbox crop, ``bbox``), as the pipeline's crop takes it.
        pipeline: the pipeline of :func:`inference_pipeline`, whose
            ``HandCanonicalCrop`` gives the first crop.

    Returns:
        tuple: the (3, 3) float64 intrinsics of the image in pixels, and
        a sentence saying what was assumed.

    Raises:
        ValueError: the config's ``default_crop_K`` is not valid
            intrinsics, or the pipeline has no ``HandCanonicalCrop``.
    """
    h, w = info['img_shape'][:2]
    crop_K = model.cfg.get('default_crop_K')
    if crop_K is None:
        K = default_intrinsics(w, h)
        return K, ('assumed: principal point at the image centre, focal '
                   f'{K[0, 0]:.0f} px ({DEFAULT_FOCAL_PER_SIDE} x the longer '
                   'side)')
    crop = _crop_step(pipeline)(dict(info))['crop_mat']
    K = np.linalg.inv(to_homogeneous(crop)) @ check_intrinsics(
        crop_K, name='default_crop_K of the config')
    return K, ("assumed: the released model's default intrinsics of its "
               f'first crop (fx {crop_K[0][0]:.1f}, fy {crop_K[1][1]:.1f}, '
               f'c ({crop_K[0][2]:g}, {crop_K[1][2]:g}) in crop pixels), i.e. '
               f'fx {K[0, 0]:.1f} px in the image')


@torch.no_grad()
def _run(model, pipeline: Compose, info: dict, recrop: Optional[bool],
         padding: float):
    saved = model.test_cfg.get('recrop')
    if recrop is True and not saved:
        model.test_cfg['recrop'] = dict(padding=padding)
    elif recrop is False:
        model.test_cfg.pop('recrop', None)
    try:
        passes = 2 if model.test_cfg.get('recrop') else 1
        data = pseudo_collate([pipeline(dict(info))])
        return model.test_step(data)[0], passes
    finally:
        if saved is None:
            model.test_cfg.pop('recrop', None)
        else:
            model.test_cfg['recrop'] = saved


def inference_hand3d(model: torch.nn.Module,
                     img: Union[str, np.ndarray],
                     K: Optional[np.ndarray] = None,
                     bone_length: float = DEFAULT_BONE_LENGTH,
                     bbox: Optional[Sequence[float]] = None,
                     recrop: Optional[bool] = None,
                     padding: Optional[float] = None,
                     hand: str = 'right') -> dict:
    """Predict camera-frame 3-D joints of the hand in ``img``.

    The crop follows the model config's test pipeline (its
    ``HandCanonicalCrop`` on the whole image, or on ``bbox``) and its
    ``test_cfg`` (a second pass where it sets ``recrop``).

    Args:
        model: a ``TopdownHand3DEstimator`` (e.g. from
            ``mmpose.apis.init_model``).
        img: image path or BGR array.
        K: 3x3 intrinsics, checked for plausibility against the image's
            size; ``None`` assumes :func:`default_camera`.
        bone_length: length of bone 9-10 in metres; sets the absolute scale
            and depth (the 2.5-D representation is scale-free).
        bbox: hand box ``[x1, y1, x2, y2]`` with positive area; ``None``
            crops the whole image (hand-centred images, like FreiHAND).
        recrop: a second pass on a crop around the first prediction's 2-D
            joints, as the released PeCLR test script does; ``None`` keeps
            the config's choice.
        padding: box enlargement of the bbox and re-crop; ``None`` keeps the
            config's.
        hand: ``'left'`` mirrors the image (and ``K``, ``bbox``), predicts
            the right hand the models are trained on, and mirrors the joints
            back: 3-D ``x -> -x`` in the camera frame, 2-D ``u -> W - 1 - u``.

    Returns:
        dict: ``keypoints_3d`` (21, 3) metres, ``keypoints_2d`` (21, 2)
        image pixels, ``projected_2d``, ``crop_2d``, ``K``, ``K_source``,
        ``bone_length``, ``warp_mat`` (image to crop), ``passes`` and
        ``hand``.

    Raises:
        ValueError: a bad ``K``, ``bbox`` or ``bone_length``, or a
            prediction that is not finite (named by the image).
        OSError: an image that is missing, corrupt or too small.
    """
    from ..datasets.transforms import LoadHandImage
    if hand not in HANDS:
        raise ValueError(f"hand must be 'right' or 'left', got {hand!r}")
    info = dict(img_path=img) if isinstance(img, str) else dict(
        img=img, img_path='<array>')
    info = LoadHandImage()(info)  # names the file if it cannot be decoded
    h, w = info['img_shape'][:2]
    if not (np.isfinite(bone_length) and bone_length > 0):
        raise ValueError('bone_length must be a positive number of metres, '
                         f'got {bone_length}')
    if bbox is not None:
        box = check_bbox(bbox, f'{info["img_path"]}: bbox')
        info['bbox'] = box.astype(np.float32).reshape(1, 4)
    pipeline = inference_pipeline(model, 'image' if bbox is None else 'bbox',
                                  padding)
    if K is None:
        K, K_source = default_camera(model, info, pipeline)
    else:
        K, K_source = check_intrinsics(
            K, f'K for {info["img_path"]}', image_size=(w, h)), 'given'
    flip = mirror_matrix(w)
    K_run = K
    if hand == 'left':
        info['img'] = cv2.flip(info['img'], 1)
        K_run = mirror_intrinsics(K, w)
        if bbox is not None:
            x1, y1, x2, y2 = info['bbox'][0]
            info['bbox'] = np.array([[w - 1 - x2, y1, w - 1 - x1, y2]],
                                    np.float32)
    info.update(K=K_run.astype(np.float32), bone_length=float(bone_length))
    crop = _crop_step(pipeline)
    sample, passes = _run(model, pipeline, info, recrop,
                          crop.padding if padding is None else padding)
    pred = sample.pred_instances
    warp = np.asarray(sample.metainfo['warp_mat'], np.float64)
    xyz = np.asarray(pred.keypoints_3d, np.float64)[0]
    kpts = np.asarray(pred.keypoints, np.float64)[0]
    if not (np.isfinite(xyz).all() and np.isfinite(kpts).all()):
        raise ValueError(f'{info["img_path"]}: the prediction is not finite '
                         f'(K {K.tolist()}, bone length {bone_length}); '
                         'nothing written for it')
    crop_2d = transform_points(kpts, warp)
    if hand == 'left':
        xyz = xyz * np.array([-1., 1., 1.])
        kpts = transform_points(kpts, flip)
        warp = compose(warp, flip)
    return dict(
        keypoints_3d=xyz,
        keypoints_2d=kpts,
        projected_2d=project(xyz, K),
        crop_2d=crop_2d,
        K=K,
        K_source=K_source,
        bone_length=float(bone_length),
        warp_mat=warp,
        passes=passes,
        hand=hand)
