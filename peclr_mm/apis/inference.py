# Copyright (c) peclr_mm authors. All rights reserved.
"""3-D hand pose on one's own images (unknown camera, unknown scale, either
hand)."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmpose.structures import PoseDataSample

from ..utils.affine import to_homogeneous, transform_points
from ..utils.arrays import check_bbox
from ..utils.camera import (check_intrinsics, mirror_intrinsics, mirror_matrix,
                            project)

__all__ = [
    'inference_hand3d', 'inference_topdown_hand3d', 'load_image',
    'inference_pipeline', 'default_intrinsics', 'default_camera',
    'check_intrinsics', 'check_bbox', 'mirror_matrix', 'mirror_intrinsics',
    'DEFAULT_BONE_LENGTH'
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
def _run(model, pipeline: Compose, infos: List[dict], recrop: Optional[bool],
         padding: float) -> Tuple[List[PoseDataSample], int]:
    saved = model.test_cfg.get('recrop')
    if recrop is True and not saved:
        model.test_cfg['recrop'] = dict(padding=padding)
    elif recrop is False:
        model.test_cfg.pop('recrop', None)
    try:
        passes = 2 if model.test_cfg.get('recrop') else 1
        data = pseudo_collate([pipeline(dict(info)) for info in infos])
        return model.test_step(data), passes
    finally:
        if saved is None:
            model.test_cfg.pop('recrop', None)
        else:
            model.test_cfg['recrop'] = saved


def _per_hand(value, count: int, name: str) -> list:
    """One value per hand: a single value repeated, or a sequence of
    ``count``."""
    if value is None or isinstance(value, str) or np.ndim(value) == 0:
        return [value] * count
    value = list(value)
    if len(value) != count:
        raise ValueError(f'{name}: {len(value)} values for {count} hand(s)')
    return value


def load_image(img: Union[str, np.ndarray]) -> dict:
    """A sample dict with the decoded BGR image (``img``, ``img_shape``,
    ``img_path``), the file named in any error."""
    from ..datasets.transforms import LoadHandImage
    info = dict(img_path=img) if isinstance(img, str) else dict(
        img=img, img_path='<array>')
    return LoadHandImage()(info)


def inference_topdown_hand3d(model: torch.nn.Module,
                             img: Union[str, np.ndarray, dict],
                             bboxes: Optional[Union[Sequence[float],
                                                    np.ndarray]] = None,
                             hands: Union[str, Sequence[str]] = 'right',
                             K: Optional[np.ndarray] = None,
                             bone_length: Optional[float] = None,
                             bbox_scores: Optional[Sequence[float]] = None,
                             recrop: Optional[bool] = None,
                             padding: Optional[float] = None
                             ) -> List[PoseDataSample]:
    """Camera-frame 3-D joints of every given hand in one image, as
    mmpose's ``inference_topdown`` returns 2-D ones: one
    ``PoseDataSample`` per hand, all hands in one batch.

    Each hand is cropped by the model config's test pipeline (its
    ``HandCanonicalCrop`` on the hand's box, or on the whole image when no
    box is given); a left hand is mirrored by its crop (``is_left``) into
    the right hand the models are trained on, so its 2-D and 3-D joints
    come back in the image's own (unmirrored) frame.

    Args:
        model: a ``TopdownHand3DEstimator`` (e.g. from
            ``mmpose.apis.init_model``).
        img: image path, BGR array, or a sample loaded by
            :func:`load_image`.
        bboxes: (N, 4) boxes ``[x1, y1, x2, y2]`` in image pixels, each
            at least half inside the image; ``None`` crops the whole image
            (one hand-centred image, like FreiHAND's).
        hands: ``'right'``/``'left'`` for all hands, or one per box.
        K: 3x3 intrinsics of the image, checked against its size;
            ``None`` assumes :func:`default_camera` (per hand for configs
            whose default camera is the crop's).
        bone_length: length of bone 9-10 in metres (the absolute scale);
            ``None`` assumes :data:`DEFAULT_BONE_LENGTH`.
        bbox_scores: (N,) detector scores, kept with each hand (1 when
            ``None``).
        recrop: a second pass on a crop around the first prediction's 2-D
            joints; ``None`` keeps the config's choice.
        padding: box enlargement of the crop and re-crop; ``None`` keeps
            the config's.

    Returns:
        list[PoseDataSample]: per hand, ``pred_instances`` with
        ``keypoints`` (1, 21, 2) image pixels, ``keypoints_3d`` (1, 21, 3)
        metres in the camera frame, ``keypoint_scores`` (1, 21),
        ``bboxes`` (1, 4) and ``bbox_scores`` (1, ); the metainfo holds
        ``handedness``, ``K``, ``K_source``, ``bone_length``,
        ``bone_length_source``, ``warp_mat`` (image to crop) and
        ``passes``.

    Raises:
        ValueError: a bad ``K``, box, hand or ``bone_length``, a model
            that is not a 3-D hand estimator, or a prediction that is not
            finite (named by the image).
        OSError: an image that is missing, corrupt, not a regular file or
            too small.
    """
    from ..models.pose_estimators import TopdownHand3DEstimator
    if not isinstance(getattr(model, 'module', model), TopdownHand3DEstimator):
        raise ValueError(
            f'the model is a {type(model).__name__}, not a '
            'TopdownHand3DEstimator: 3-D inference needs a fine-tuned hand '
            'config (configs/hand25d/...), not a pretraining one')
    info = img if isinstance(img, dict) else load_image(img)
    name = info['img_path']
    h, w = info['img_shape'][:2]
    if bone_length is None:
        bone_length, b_source = DEFAULT_BONE_LENGTH, (
            f'assumed: {DEFAULT_BONE_LENGTH} m (FreiHAND mean)')
    else:
        b_source = 'given'
    if not (np.isfinite(bone_length) and bone_length > 0):
        raise ValueError('bone_length must be a positive number of metres, '
                         f'got {bone_length}')
    if bboxes is None:
        boxes = [None]
    else:
        arr = np.asarray(bboxes, np.float64)
        if arr.ndim not in (1, 2) or arr.shape[-1] != 4:
            raise ValueError(f'{name}: bboxes must be [x1, y1, x2, y2] or '
                             f'(N, 4), got shape {list(arr.shape)}')
        arr = arr.reshape(-1, 4)
        boxes = [
            check_bbox(
                b,
                f'{name}: bbox' + (f' {i}' if len(arr) > 1 else ''),
                image_size=(w, h)) for i, b in enumerate(arr)
        ]
    hands = _per_hand(hands, len(boxes), f'{name}: hands')
    for hand in hands:
        if hand not in HANDS:
            raise ValueError(
                f"{name}: hand must be 'right' or 'left', got {hand!r}")
    scores = _per_hand(bbox_scores, len(boxes), f'{name}: bbox_scores')
    pipeline = inference_pipeline(model, 'image' if bboxes is None else 'bbox',
                                  padding)
    infos, cameras = [], []
    for box, hand in zip(boxes, hands):
        one = dict(info, bone_length=float(bone_length))
        if box is not None:
            one['bbox'] = box.astype(np.float32).reshape(1, 4)
        if K is None:
            cam, K_source = default_camera(model, one, pipeline)
        else:
            cam, K_source = check_intrinsics(
                K, f'K for {name}', image_size=(w, h)), 'given'
        cameras.append((cam, K_source))
        infos.append(
            dict(one, K=cam.astype(np.float32), is_left=hand == 'left'))
    crop = _crop_step(pipeline)
    samples, passes = _run(model, pipeline, infos, recrop,
                           crop.padding if padding is None else padding)
    for i, (sample, (cam, K_source)) in enumerate(zip(samples, cameras)):
        pred = sample.pred_instances
        xyz = np.asarray(pred.keypoints_3d, np.float64)
        kpts = np.asarray(pred.keypoints, np.float64)
        if not (np.isfinite(xyz).all() and np.isfinite(kpts).all()):
            raise ValueError(f'{name}: the prediction is not finite (hand '
                             f'{i}, K {cam.tolist()}, bone length '
                             f'{bone_length}); nothing written for it')
        box = boxes[i] if boxes[i] is not None else np.array([0., 0., w, h])
        score = 1. if scores[i] is None else float(scores[i])
        pred.bboxes = box.astype(np.float32)[None]
        pred.bbox_scores = np.array([score], np.float32)
        # the 2.5-D heads give no per-joint confidence: each joint
        # carries its hand's detection score
        pred.keypoint_scores = np.asarray(pred.keypoint_scores,
                                          np.float32) * score
        meta = dict(
            handedness=hands[i],
            K=cam,
            K_source=K_source,
            bone_length=float(bone_length),
            bone_length_source=b_source,
            passes=passes)
        sample.set_metainfo(meta)
    return samples


def inference_hand3d(model: torch.nn.Module,
                     img: Union[str, np.ndarray],
                     K: Optional[np.ndarray] = None,
                     bone_length: float = DEFAULT_BONE_LENGTH,
                     bbox: Optional[Sequence[float]] = None,
                     recrop: Optional[bool] = None,
                     padding: Optional[float] = None,
                     hand: str = 'right') -> dict:
    """Predict camera-frame 3-D joints of the one hand in ``img``, as a
    dict (:func:`inference_topdown_hand3d` for mmpose's data samples and
    several hands).

    Args:
        model: a ``TopdownHand3DEstimator`` (e.g. from
            ``mmpose.apis.init_model``).
        img: image path or BGR array.
        K: 3x3 intrinsics, checked for plausibility against the image's
            size; ``None`` assumes :func:`default_camera`.
        bone_length: length of bone 9-10 in metres; sets the absolute scale
            and depth (the 2.5-D representation is scale-free).
        bbox: hand box ``[x1, y1, x2, y2]``, at least half inside the
            image; ``None`` crops the whole image (hand-centred images,
            like FreiHAND).
        recrop: a second pass on a crop around the first prediction's 2-D
            joints, as the released PeCLR test script does; ``None`` keeps
            the config's choice.
        padding: box enlargement of the bbox and re-crop; ``None`` keeps the
            config's.
        hand: ``'left'`` mirrors the crop, predicts the right hand the
            models are trained on, and returns the joints in the image's
            frame.

    Returns:
        dict: ``keypoints_3d`` (21, 3) metres, ``keypoints_2d`` (21, 2)
        image pixels, ``projected_2d``, ``crop_2d``, ``K``, ``K_source``,
        ``bone_length``, ``warp_mat`` (image to crop), ``passes`` and
        ``hand``.

    Raises:
        ValueError: a bad ``K``, ``bbox``, ``hand`` or ``bone_length``, or
            a prediction that is not finite (named by the image).
        OSError: an image that is missing, corrupt or too small.
    """
    if hand not in HANDS:
        raise ValueError(f"hand must be 'right' or 'left', got {hand!r}")
    sample = inference_topdown_hand3d(
        model,
        img,
        bboxes=bbox,
        hands=hand,
        K=K,
        bone_length=bone_length,
        recrop=recrop,
        padding=padding)[0]
    meta = sample.metainfo
    xyz = np.asarray(sample.pred_instances.keypoints_3d, np.float64)[0]
    kpts = np.asarray(sample.pred_instances.keypoints, np.float64)[0]
    warp = np.asarray(meta['warp_mat'], np.float64)
    return dict(
        keypoints_3d=xyz,
        keypoints_2d=kpts,
        projected_2d=project(xyz, meta['K']),
        crop_2d=transform_points(kpts, warp),
        K=meta['K'],
        K_source=meta['K_source'],
        bone_length=meta['bone_length'],
        warp_mat=warp,
        passes=meta['passes'],
        hand=hand)
