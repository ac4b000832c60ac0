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
    'HandPipeline', 'inference_hand3d', 'inference_topdown_hand3d',
    'predict_hands', 'load_image', 'inference_pipeline', 'default_intrinsics',
    'default_camera', 'exif_focal_35mm', 'check_intrinsics', 'check_bbox',
    'check_bone_length', 'landmark_confidence', 'keep_bone_length',
    'mirror_matrix', 'mirror_intrinsics', 'DEFAULT_BONE_LENGTH',
    'DEFAULT_FOCAL_PER_SIDE', 'BONE_LENGTH_RANGE', 'CONFIDENCE_SIGMA'
]

#: Length of bone 9-10 (middle-finger MCP to PIP) assumed when the user
#: gives none: about the mean of FreiHAND's ``training_scale.json``.
DEFAULT_BONE_LENGTH = 0.0335
#: Focal length in units of the image's longer side assumed when the camera
#: is unknown: phones' main cameras (26 mm equivalent: 26 / 36 = 0.72) and
#: webcams (60-78 degrees across: 0.6-0.9) lie in 0.7-1.0; 0.85 is the
#: middle, so depth is off by at most about 20 % for any of them.
DEFAULT_FOCAL_PER_SIDE = 0.85
#: Plausible lengths of bone 9-10 in metres (children to large adults:
#: FreiHAND's mean is 33.5 mm, the real test set's 49 mm).
BONE_LENGTH_RANGE = (0.015, 0.08)
#: Spread of the confidence: a joint this far (in units of the box's longer
#: side) from the detector's landmark scores exp(-1/2) = 0.61.
CONFIDENCE_SIGMA = 0.1
HANDS = ('right', 'left')
K_SOURCES = ('given', 'exif', 'assumed')
#: How many times an assumed focal length is doubled when the hand's joints
#: come out behind the camera (a close-up, or a crop of a larger photo).
ASSUMED_FOCAL_RETRIES = 3
_EXIF_IFD, _FOCAL_35MM = 0x8769, 0xA405


def check_bone_length(value, name: str = 'bone_length') -> float:
    """``value`` as a float, refused unless a plausible length of bone 9-10
    in metres (:data:`BONE_LENGTH_RANGE`), the likely unit named.

    Args:
        value: the length given.
        name: what it is (an argument), for the error message.

    Returns:
        float: the length in metres.

    Raises:
        ValueError: not a number in the range; e.g. ``33.5`` is said to
            look like millimetres.
    """
    try:
        b = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number of metres, got '
                         f'{value!r}') from None
    lo, hi = BONE_LENGTH_RANGE
    if np.isfinite(b) and lo <= b <= hi:
        return b
    hint = ''
    for factor, unit in ((1000., 'millimetres'), (100., 'centimetres')):
        if np.isfinite(b) and lo <= b / factor <= hi:
            hint = (f': {b:g} looks like {unit}; pass {b / factor:g} '
                    '(metres)')
            break
    raise ValueError(f'{name} must be the length of bone 9-10 (middle '
                     f'finger, knuckle to first joint) in metres, within '
                     f'{lo:g}..{hi:g}, got {value!r}{hint}')


def exif_focal_35mm(path: Optional[str]) -> Optional[float]:
    """The EXIF ``FocalLengthIn35mmFilm`` of an image file (mm), or
    ``None`` when absent, zero or unreadable (only the header is read)."""
    if not isinstance(path, str) or '://' in path:
        return None
    try:
        from PIL import Image
        with Image.open(path) as im:
            exif = im.getexif()
            value = exif.get_ifd(_EXIF_IFD).get(_FOCAL_35MM) or exif.get(
                _FOCAL_35MM)
    except Exception:  # a format PIL cannot open is no camera information
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) and 5. <= value <= 2000. else None


def landmark_confidence(keypoints: np.ndarray, landmarks: np.ndarray,
                        bbox: Sequence[float]) -> Tuple[np.ndarray, float]:
    """How far the model's 2-D joints are from a detector's own landmarks,
    as scores in [0, 1]: ``exp(-d^2 / (2 sigma^2))`` per joint, ``d`` the
    distance in units of the box's longer side and ``sigma`` =
    :data:`CONFIDENCE_SIGMA` (the keypoint similarity of COCO's OKS, the
    detector's landmarks standing in for the truth); the hand's score is
    their mean.

    Args:
        keypoints: (21, 2) the model's joints in image pixels.
        landmarks: (21, 2) the detector's, same order and pixels.
        bbox: the hand's box ``[x1, y1, x2, y2]``, whose longer side
            normalises the distances.

    Returns:
        tuple: per-joint scores (21,) float32 and the hand's score.
    """
    box = np.asarray(bbox, np.float64).reshape(-1)
    side = max(box[2] - box[0], box[3] - box[1], 1.)
    d = np.linalg.norm(
        np.asarray(keypoints, np.float64) - np.asarray(landmarks, np.float64),
        axis=-1) / side
    per_joint = np.exp(-0.5 * (d / CONFIDENCE_SIGMA)**2)
    return per_joint.astype(np.float32), float(per_joint.mean())


def keep_bone_length(xyz: np.ndarray,
                     bone_length: float,
                     ref_bone: Tuple[int, int] = (9, 10)) -> np.ndarray:
    """The joints scaled about the camera centre so that the reference bone
    is ``bone_length`` long: ``X' = X * b / |X_n - X_m|``. Every joint's
    projection is unchanged; only depth (and size) move.

    The 2.5-D read-out fixes the scale exactly, but the learned refinement
    of the root depth then moves the hand along its rays and the bone
    follows; this puts the stated scale back (docs/design.md section 9).

    Args:
        xyz: (..., 21, 3) camera-frame joints.
        bone_length: the length bone ``ref_bone`` must have.
        ref_bone: joint indices (n, m).

    Returns:
        np.ndarray: the rescaled joints, float64.
    """
    xyz = np.asarray(xyz, np.float64)
    n, m = ref_bone
    length = np.linalg.norm(xyz[..., n, :] - xyz[..., m, :], axis=-1)
    return xyz * (bone_length / np.maximum(length, 1e-12))[..., None, None]


def default_intrinsics(width: int,
                       height: int,
                       focal_per_side: float = DEFAULT_FOCAL_PER_SIDE
                       ) -> np.ndarray:
    """A pinhole camera with the principal point at the image centre and a
    phone's or webcam's field of view (about 60 degrees across the longer
    side), for images whose camera is unknown.

    Args:
        width: image width W in pixels.
        height: image height H in pixels.
        focal_per_side: the focal length in units of the longer side
            (an EXIF ``FocalLengthIn35mmFilm`` of f mm gives f / 36).

    Returns:
        np.ndarray: (3, 3) float64 intrinsics in pixels, focal
        ``focal_per_side * max(W, H)``, principal point
        ``(W / 2, H / 2)``.
    """
    f = focal_per_side * max(width, height)
    return np.array([[f, 0., width / 2.], [0., f, height / 2.], [0., 0., 1.]])


class HandPipeline:
    """The model config's test pipeline after loading, built once: its
    ``HandCanonicalCrop`` (on the sample's ``bbox``, else the whole image)
    and the steps after it, callable apart so that the crop is computed
    once per hand even where the camera is derived from it.

    Args:
        model: a ``TopdownHand3DEstimator`` with its config as ``cfg``;
            its ``test_dataloader.dataset.pipeline`` is used, without its
            ``Load*`` steps.
        source: what the crop is taken around: ``'auto'`` (the sample's
            ``bbox``, else the whole image), ``'bbox'`` or ``'image'``.
        padding: box enlargement of the crop; ``None`` keeps the config's.
        recrop: a second pass on a crop around the first prediction's 2-D
            joints; ``None`` keeps the config's choice. Its options are
            ``self.recrop`` (``None``: one pass), passed to the model
            explicitly (:func:`forward_hands`).

    Raises:
        ValueError: a test pipeline without ``HandCanonicalCrop``.
    """

    def __init__(self,
                 model: torch.nn.Module,
                 source: str = 'auto',
                 padding: Optional[float] = None,
                 recrop: Optional[bool] = None):
        from ..datasets.transforms import HandCanonicalCrop
        steps = []
        for t in copy.deepcopy(model.cfg.test_dataloader.dataset.pipeline):
            name = t['type'].split('.')[-1]
            if name.startswith('Load'):
                continue
            if name == 'HandCanonicalCrop':
                t['source'] = source
                if padding is not None:
                    t['padding'] = padding
            elif name == 'WarpView':
                t['keep_source'] = True  # for a second pass, if asked for
            steps.append(t)
        self.steps = Compose(steps).transforms
        crops = [
            i for i, t in enumerate(self.steps)
            if isinstance(t, HandCanonicalCrop)
        ]
        if not crops:
            raise ValueError('the test pipeline of the model config has no '
                             'HandCanonicalCrop: inference needs it to crop')
        self._split = crops[0] + 1
        self.padding = self.steps[crops[0]].padding
        saved = model.test_cfg.get('recrop')
        if recrop is None:
            self.recrop = saved or None
        else:
            self.recrop = (saved or dict(padding=self.padding)) if recrop \
                else None

    def crop(self, info: dict) -> dict:
        """The steps up to the crop: adds ``crop_mat`` (image to crop)."""
        for t in self.steps[:self._split]:
            info = t(info)
        return info

    def finish(self, info: dict) -> dict:
        """The steps after the crop (the warp, packing)."""
        for t in self.steps[self._split:]:
            info = t(info)
        return info

    def __call__(self, info: dict) -> dict:
        return self.finish(self.crop(dict(info)))

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.steps})'


def inference_pipeline(model: torch.nn.Module,
                       source: str = 'auto',
                       padding: Optional[float] = None,
                       recrop: Optional[bool] = None) -> HandPipeline:
    """The :class:`HandPipeline` of ``model`` for the functions of this
    module, built once per model and options (the inferencer builds its
    own once)."""
    cache = model.__dict__.setdefault('_peclr_inference_pipelines', {})
    key = (source, padding, recrop)
    if key not in cache:
        cache[key] = HandPipeline(model, source, padding, recrop)
    return cache[key]


def default_camera(model: torch.nn.Module,
                   info: dict) -> Tuple[np.ndarray, str]:
    """Intrinsics for an image whose camera is not given, and what they
    are.

    An image file whose EXIF holds ``FocalLengthIn35mmFilm`` (f mm) gets
    fx = fy = f / 36 x its longer side (36 mm being the longer side of the
    35 mm frame), principal point at the centre; otherwise a config with
    ``default_crop_K`` (the released PeCLR models: their ``K_default``,
    the intrinsics of the 224 px crop) gets the image camera that gives
    its first crop exactly those; other configs get
    :func:`default_intrinsics`.

    Args:
        model: a ``TopdownHand3DEstimator`` with its config as ``cfg``.
        info: the sample after :meth:`HandPipeline.crop`: ``img_shape``
            (H, W, ...), ``crop_mat`` and ``focal_35mm`` (or
            ``img_path``, whose EXIF is read).

    Returns:
        tuple: the (3, 3) float64 intrinsics of the image in pixels, and
        a sentence saying where they come from, starting ``'exif: '`` or
        ``'assumed: '``.

    Raises:
        ValueError: the config's ``default_crop_K`` is not valid
            intrinsics.
    """
    h, w = info['img_shape'][:2]
    f35 = info.get('focal_35mm')
    if f35 is None and 'focal_35mm' not in info:
        f35 = exif_focal_35mm(info.get('img_path'))
    if f35 is not None:
        K = default_intrinsics(w, h, f35 / 36.)
        return K, (f'exif: FocalLengthIn35mmFilm {f35:g} mm, i.e. focal '
                   f'{K[0, 0]:.0f} px ({f35:g} / 36 x the longer side), '
                   'principal point at the image centre')
    crop_K = model.cfg.get('default_crop_K')
    if crop_K is None:
        K = default_intrinsics(w, h)
        return K, ('assumed: principal point at the image centre, focal '
                   f'{K[0, 0]:.0f} px ({DEFAULT_FOCAL_PER_SIDE} x the longer '
                   'side, a phone or webcam; pass K for depth you can '
                   'trust)')
    K = np.linalg.inv(to_homogeneous(info['crop_mat'])) @ check_intrinsics(
        crop_K, name='default_crop_K of the config')
    return K, ("assumed: the released model's default intrinsics of its "
               f'first crop (fx {crop_K[0][0]:.1f}, fy {crop_K[1][1]:.1f}, '
               f'c ({crop_K[0][2]:g}, {crop_K[1][2]:g}) in crop pixels), i.e. '
               f'fx {K[0, 0]:.1f} px in the image')


@torch.no_grad()
def forward_hands(model: torch.nn.Module, batch: List[dict],
                  recrop: Optional[dict]) -> List[PoseDataSample]:
    """The model's ``predict`` on packed samples, its re-crop passed
    explicitly (``recrop``: the options of
    ``TopdownHand3DEstimator.recrop_inputs``, ``None`` for one pass)
    instead of read from ``model.test_cfg``."""
    from mmpose.models import TopdownPoseEstimator
    data = model.data_preprocessor(pseudo_collate(batch), False)
    inputs, samples = data['inputs'], data['data_samples']
    if recrop:
        first = model.head.predict(
            model.extract_feat(inputs), samples, model.test_cfg)
        first = first[0] if isinstance(first, tuple) else first
        inputs = model.recrop_inputs(first, samples, **recrop)
    return TopdownPoseEstimator.predict(model, inputs, samples)


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
    ``img_path``) and the EXIF ``focal_35mm`` of a file (or ``None``), the
    file named in any error."""
    from ..datasets.transforms import LoadHandImage
    info = dict(img_path=img) if isinstance(img, str) else dict(
        img=img, img_path='<array>')
    info = LoadHandImage()(info)
    info['focal_35mm'] = exif_focal_35mm(img) if isinstance(img, str) else None
    return info


def check_model(model: torch.nn.Module) -> None:
    """Refuse a model that is not a 3-D hand estimator."""
    from ..models.pose_estimators import TopdownHand3DEstimator
    if not isinstance(getattr(model, 'module', model), TopdownHand3DEstimator):
        raise ValueError(
            f'the model is a {type(model).__name__}, not a '
            'TopdownHand3DEstimator: 3-D inference needs a fine-tuned hand '
            'config (configs/hand25d/...), not a pretraining one')


def check_hand(hand, name: str = 'hand') -> str:
    """``hand`` if ``'right'`` or ``'left'``, else ``ValueError``."""
    if hand not in HANDS:
        raise ValueError(f"{name} must be 'right' or 'left', got {hand!r}")
    return hand


def check_camera(K, name: str, image_size: Tuple[int, int],
                 whole_image: bool) -> np.ndarray:
    """``K`` checked against the image's size; ``whole_image`` also
    refuses a principal point outside the image, as a whole photo's camera
    has it (a crop of a larger frame may have it outside)."""
    K = check_intrinsics(K, name, image_size=image_size)
    w, h = image_size
    cx, cy = K[0, 2], K[1, 2]
    if whole_image and not (0 <= cx <= w and 0 <= cy <= h):
        raise ValueError(
            f'{name}: the principal point (cx, cy) = ({cx:g}, {cy:g}) lies '
            f'outside the {w}x{h} image (expected 0..{w}, 0..{h}): '
            'intrinsics of another image size? (For a crop of a larger '
            'frame, call inference_topdown_hand3d with its K.)')
    return K


def inference_topdown_hand3d(model: torch.nn.Module,
                             img: Union[str, np.ndarray, dict],
                             bboxes: Optional[Union[Sequence[float],
                                                    np.ndarray]] = None,
                             hands: Union[str, Sequence[str]] = 'right',
                             K: Optional[np.ndarray] = None,
                             bone_length: Optional[float] = None,
                             bbox_scores: Optional[Sequence[float]] = None,
                             recrop: Optional[bool] = None,
                             padding: Optional[float] = None,
                             landmarks: Optional[Sequence] = None,
                             keep_bone: bool = True) -> List[PoseDataSample]:
    """Camera-frame 3-D joints of every given hand in one image, as
    mmpose's ``inference_topdown`` returns 2-D ones: one
    ``PoseDataSample`` per hand, all hands in one batch.

    Each hand is cropped by the model config's test pipeline (its
    ``HandCanonicalCrop`` on the hand's box, or on the whole image when no
    box is given); a left hand is mirrored by its crop (``is_left``) into
    the right hand the models are trained on, so its 2-D and 3-D joints
    come back in the image's own (unmirrored) frame. The joints are scaled
    about the camera centre so that bone 9-10 is ``bone_length`` long
    (:func:`keep_bone_length`; the projections do not move).

    Args:
        model: a ``TopdownHand3DEstimator`` (e.g. from
            ``mmpose.apis.init_model``).
        img: image path, BGR array, or a sample loaded by
            :func:`load_image`.
        bboxes: (N, 4) boxes ``[x1, y1, x2, y2]`` in image pixels, each
            at least half inside the image; ``None`` crops the whole image
            (one hand-centred image, like FreiHAND's).
        hands: ``'right'``/``'left'`` for all hands, or one per box.
        K: 3x3 intrinsics of the image, checked against its size (its
            principal point inside the image); ``None``: the EXIF focal
            where the file has one, else :func:`default_camera`.
        bone_length: length of bone 9-10 in metres (the absolute scale),
            within :data:`BONE_LENGTH_RANGE`; ``None`` assumes
            :data:`DEFAULT_BONE_LENGTH`.
        bbox_scores: (N,) detector box scores, kept with each hand
            (``None``: the hand's confidence where there is one, else 1
            for a given box).
        recrop: a second pass on a crop around the first prediction's 2-D
            joints; ``None`` keeps the config's choice.
        padding: box enlargement of the crop and re-crop; ``None`` keeps
            the config's.
        landmarks: per hand, the detector's own (21, 2) joints in image
            pixels (or ``None``); they give the confidence
            (:func:`landmark_confidence`).
        keep_bone: rescale to the stated bone length (``False`` keeps the
            head's output as ``tools/test.py`` scores it).

    Returns:
        list[PoseDataSample]: per hand, ``pred_instances`` with
        ``keypoints`` (1, 21, 2) image pixels, ``keypoints_3d`` (1, 21, 3)
        metres in the camera frame, ``keypoint_scores`` (1, 21) (the
        per-joint confidence in [0, 1], NaN without landmarks),
        ``bboxes`` (1, 4) and ``bbox_scores`` (1, ); the metainfo holds
        ``score`` (the hand's confidence or ``None``), ``handedness``,
        ``K``, ``K_source`` (``'given'``, ``'exif'`` or ``'assumed'``),
        ``K_note``, ``bone_length``, ``bone_length_source``, ``warp_mat``
        (image to crop) and ``passes``.

    Raises:
        ValueError: a bad ``K``, box, hand or ``bone_length``, a model
            that is not a 3-D hand estimator, or a prediction that is not
            finite or behind the camera (named by the image).
        OSError: an image that is missing, corrupt, not a regular file or
            too small.
    """
    results = predict_hands(model, img, bboxes, hands, K, bone_length,
                            bbox_scores, recrop, padding, landmarks, keep_bone)
    for res in results:
        if isinstance(res, str):
            raise ValueError(res)
    return results


def predict_hands(model: torch.nn.Module,
                  img: Union[str, np.ndarray, dict],
                  bboxes=None,
                  hands: Union[str, Sequence[str]] = 'right',
                  K: Optional[np.ndarray] = None,
                  bone_length: Optional[float] = None,
                  bbox_scores: Optional[Sequence[float]] = None,
                  recrop: Optional[bool] = None,
                  padding: Optional[float] = None,
                  landmarks: Optional[Sequence] = None,
                  keep_bone: bool = True,
                  whole_image_K: bool = False
                  ) -> List[Union[PoseDataSample, str]]:
    """:func:`inference_topdown_hand3d` that reports a hand it cannot
    predict (a box mostly outside the image, a prediction that is not
    finite, or behind an assumed camera) as a sentence in that hand's
    place, so the other hands go on. Every argument is checked here, once.

    ``whole_image_K`` refuses a given ``K`` whose principal point is not
    inside the image, as a whole photo's camera has it (a crop of a larger
    frame, e.g. the real-world test set's, may have it outside: ``False``).

    Returns:
        list: per box, a ``PoseDataSample`` or the reason (str) it has
        none.

    Raises:
        ValueError: what concerns the whole image: a bad ``K`` (also one
            that puts a hand behind the camera), ``bone_length``, hand
            list or box array, or a model that is not a 3-D hand
            estimator.
        OSError: an image that cannot be read.
    """
    check_model(model)
    info = img if isinstance(img, dict) else load_image(img)
    name = info['img_path']
    h, w = info['img_shape'][:2]
    if bone_length is not None:
        bone_length = check_bone_length(bone_length)
    if K is not None:
        K = check_camera(K, f'K for {name}', (w, h), whole_image_K)
    if bboxes is None:
        boxes = [None]
    else:
        arr = np.asarray(bboxes, np.float64)
        if arr.ndim not in (1, 2) or arr.shape[-1] != 4:
            raise ValueError(f'{name}: bboxes must be [x1, y1, x2, y2] or '
                             f'(N, 4), got shape {list(arr.shape)}')
        boxes = list(arr.reshape(-1, 4))
    count = len(boxes)
    hands = [
        check_hand(hand, f'{name}: hand')
        for hand in _per_hand(hands, count, f'{name}: hands')
    ]
    scores = _per_hand(bbox_scores, count, f'{name}: bbox_scores')
    marks = [None] * count if landmarks is None else list(landmarks)
    if len(marks) != count:
        raise ValueError(f'{name}: landmarks: {len(marks)} for {count} '
                         'hand(s)')
    per_hand = [
        dict(
            bbox=box,
            bbox_score=score,
            bbox_source='whole image' if box is None else 'given',
            handedness=hand,
            handedness_source='given',
            handedness_score=None,
            landmarks=mark)
        for box, score, hand, mark in zip(boxes, scores, hands, marks)
    ]
    return predict(model, info,
                   inference_pipeline(model, padding=padding, recrop=recrop),
                   per_hand, K, bone_length, keep_bone)


def _check_boxes(hands: List[dict], name: str,
                 image_size: Tuple[int, int]) -> List[str]:
    """Check each hand's ``bbox`` (``None``: the whole image) against the
    image, in place; returns per hand ``''`` or why it cannot be
    predicted."""
    results = [''] * len(hands)
    for i, hand in enumerate(hands):
        if hand['bbox'] is None:
            continue
        label = f'{name}: bbox' + (f' {i}' if len(hands) > 1 else '')
        try:
            hand['bbox'] = check_bbox(hand['bbox'], label, image_size)
        except ValueError as exc:
            results[i] = str(exc)
    return results


def predict(model: torch.nn.Module, info: dict, pipeline: HandPipeline,
            hands: List[dict], K: Optional[np.ndarray],
            bone_length: Optional[float],
            keep_bone: bool) -> List[Union[PoseDataSample, str]]:
    """Predict the hands of one loaded image: each hand's box is checked
    against the image here; every other argument is already checked
    (:func:`predict_hands` and the inferencer check them).

    Args:
        model: a ``TopdownHand3DEstimator``.
        info: the loaded image (:func:`load_image`).
        pipeline: the model's :class:`HandPipeline` (with its re-crop).
        hands: per hand a dict: ``bbox`` (checked, or ``None`` for the
            whole image), ``handedness``, ``landmarks`` (or ``None``),
            ``bbox_score`` (or ``None``) and what is kept in the
            sample's metainfo as it is (``handedness_score``,
            ``handedness_source``, ``bbox_source``, ``track_id``, ...).
        K: the image's intrinsics, or ``None`` (:func:`default_camera`).
        bone_length: bone 9-10 in metres, or ``None`` (assumed).
        keep_bone: rescale to the stated bone length.

    Returns:
        list: per hand, a ``PoseDataSample`` or the reason (str) it has
        none.
    """
    name = info['img_path']
    h, w = info['img_shape'][:2]
    if bone_length is None:
        bone_length, b_source = DEFAULT_BONE_LENGTH, (
            f'assumed: {DEFAULT_BONE_LENGTH} m (FreiHAND mean)')
    else:
        b_source = 'given'
    count = len(hands)
    results = _check_boxes(hands, name, (w, h))
    todo = [i for i in range(count) if not results[i]]
    cropped, cameras = [], []
    for i in todo:
        one = dict(
            info,
            bone_length=float(bone_length),
            is_left=hands[i]['handedness'] == 'left')
        if hands[i]['bbox'] is not None:
            one['bbox'] = hands[i]['bbox'].astype(np.float32).reshape(1, 4)
        one = pipeline.crop(one)  # once per hand: the camera may need it
        if K is None:
            cam, note = default_camera(model, one)
            source = note.split(':')[0]
        else:
            cam, note, source = K, 'given', 'given'
        cameras.append((cam, source, note))
        cropped.append(one)
    net = getattr(model, 'module', model)
    ref_bone = tuple(
        getattr(getattr(net.head, 'codec', None), 'ref_bone', (9, 10)))
    recrop = pipeline.recrop
    passes = 2 if recrop else 1
    done: List[Tuple[int, PoseDataSample, np.ndarray]] = []
    pending = list(range(len(todo)))
    for attempt in range(ASSUMED_FOCAL_RETRIES + 1):
        samples = forward_hands(model, [
            pipeline.finish(
                dict(cropped[k], K=cameras[k][0].astype(np.float32)))
            for k in pending
        ], recrop) if pending else []
        retry = []
        for k, sample in zip(pending, samples):
            i, (cam, source, note) = todo[k], cameras[k]
            pred = sample.pred_instances
            xyz = np.asarray(pred.keypoints_3d, np.float64)
            kpts = np.asarray(pred.keypoints, np.float64)
            what = f'{name}: hand {i}' if count > 1 else f'{name}:'
            if not (np.isfinite(xyz).all() and np.isfinite(kpts).all()):
                results[i] = (f'{what} the prediction is not finite (K '
                              f'{cam.tolist()}, bone length {bone_length}); '
                              'nothing written for it')
                continue
            if keep_bone:
                xyz = keep_bone_length(xyz, bone_length, ref_bone)
            if (xyz[..., 2] > 0).all():
                done.append((k, sample, xyz))
            elif source == 'given':
                raise ValueError(
                    f'K for {name}: the joints come out behind the camera (z '
                    f'<= 0) with K {np.round(cam, 2).tolist()}: are these '
                    f'the intrinsics of this {w}x{h} image?')
            elif source == 'assumed' and attempt < ASSUMED_FOCAL_RETRIES:
                # a close-up or a crop: a longer focal puts the hand
                # further away, where its depth range fits in front
                wider = cam.copy()
                wider[0, 0] *= 2
                wider[1, 1] *= 2
                cameras[k] = (wider, source, (
                    f'{note}; joints came out behind the camera with focal '
                    f'{cam[0, 0]:.0f} px (a close-up or a crop?), so '
                    f'{wider[0, 0]:.0f} px was assumed'))
                retry.append(k)
            else:
                results[i] = (f'{what} joints come out behind the camera (z '
                              f'<= 0) with K {np.round(cam, 2).tolist()} '
                              f'({note})')
        pending = retry
        if not pending:
            break
    for k, sample, xyz in sorted(done, key=lambda d: d[0]):
        i, (cam, source, note) = todo[k], cameras[k]
        hand = dict(hands[i])
        box, marks = hand.pop('bbox'), hand.pop('landmarks')
        score, whole = hand.pop('bbox_score'), box is None
        pred = sample.pred_instances
        kpts = np.asarray(pred.keypoints, np.float64)
        pred.keypoints_3d = xyz.astype(np.float32)
        box = np.array([0., 0., w, h]) if whole else box
        hand_score = None
        per_joint = np.full((1, kpts.shape[-2]), np.nan, np.float32)
        if marks is not None:
            per_joint[0], hand_score = landmark_confidence(kpts[0], marks, box)
        if score is None:
            score = hand_score if hand_score is not None else (
                float('nan') if whole else 1.)
        pred.bboxes = box.astype(np.float32)[None]
        pred.bbox_scores = np.array([score], np.float32)
        pred.keypoint_scores = per_joint
        sample.set_metainfo(
            dict(
                hand,
                score=hand_score,
                K=cam,
                K_source=source,
                K_note=note,
                bone_length=float(bone_length),
                bone_length_source=b_source,
                passes=passes))
        results[i] = sample
    return results


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
        dict: ``keypoints_3d`` (21, 3) metres (bone 9-10 exactly
        ``bone_length`` long), ``keypoints_2d`` (21, 2) image pixels,
        ``projected_2d``, ``crop_2d``, ``K``, ``K_source`` (``'given'``,
        ``'exif'`` or ``'assumed'``), ``K_note``, ``bone_length``,
        ``warp_mat`` (image to crop), ``passes`` and ``hand``.

    Raises:
        ValueError: a bad ``K``, ``bbox``, ``hand`` or ``bone_length``, or
            a prediction that is not finite (named by the image).
        OSError: an image that is missing, corrupt or too small.
    """
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
        K_note=meta['K_note'],
        bone_length=meta['bone_length'],
        warp_mat=warp,
        passes=meta['passes'],
        hand=hand)
