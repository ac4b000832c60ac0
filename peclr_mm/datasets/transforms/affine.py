# Copyright (c) peclr_mm authors. All rights reserved.
"""Affine-tracking geometric transforms.

The geometry of a view is composed as matrices and the image is resampled
once, by :class:`WarpView`: ``warp_mat = A . C`` with ``C`` the canonical
crop (:class:`HandCanonicalCrop`) and ``A = T(t) . R(theta) . S(s)`` the
random similarity about the view centre (:class:`RandomSimilarity`).
"""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...utils.affine import (compose, crop_intrinsics, crop_matrix,
                             similarity_about, square_box, transform_points)

__all__ = [
    'canonical_crop', 'box_from_points', 'warp_image', 'HandCanonicalCrop',
    'RandomSimilarity', 'WarpView'
]

_INTERP = dict(bilinear=cv2.INTER_LINEAR, nearest=cv2.INTER_NEAREST)


def canonical_crop(center: Sequence[float],
                   side: float,
                   out_size: int,
                   mirror: bool = False) -> np.ndarray:
    """The crop matrix (2x3) of the square of ``side`` about ``center`` onto
    an ``out_size`` view; ``mirror`` flips it about the centre (a left hand
    seen as a right one, negative determinant).

    Args:
        center: (x, y) centre of the square in source-image pixels.
        side: side of the square in source-image pixels, positive.
        out_size: side of the square view in pixels.
        mirror: flip left-right about ``center``.

    Returns:
        np.ndarray: 2x3 float64 map from source pixels to view pixels.

    Raises:
        ValueError: ``side`` is not positive.
    """
    crop = crop_matrix(center, side, out_size)
    if mirror:
        flip = np.array([[-1., 0., 2. * center[0]], [0., 1., 0.]])
        crop = compose(crop, flip)
    return crop


def box_from_points(points: np.ndarray,
                    integer: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` corners of the points' extent (K, 2); ``integer``
    truncates each toward zero, as the released PeCLR test script's
    ``int()`` does.

    Args:
        points: (K, 2) points in pixels (any shape reshaping to (-1, 2)).
        integer: truncate the corners toward zero.

    Returns:
        tuple: ``lo`` and ``hi``, each (2,) float64 in the points' pixels.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    lo, hi = points.min(0), points.max(0)
    if integer:
        lo, hi = np.trunc(lo), np.trunc(hi)
    return lo, hi


def warp_image(img: np.ndarray,
               warp: np.ndarray,
               size: Tuple[int, int],
               interpolation: str = 'bilinear',
               border_value: int = 0) -> np.ndarray:
    """Resample ``img`` once with the 2x3 ``warp`` onto ``size`` (W, H),
    constant ``border_value`` outside.

    Args:
        img: (H, W) or (H, W, C) image.
        warp: 2x3 map from ``img`` pixels to output pixels.
        size: (W, H) of the output in pixels.
        interpolation: ``'bilinear'`` or ``'nearest'``.
        border_value: the value of each channel outside ``img``.

    Returns:
        np.ndarray: the (H, W[, C]) resampled image, of ``img``'s dtype.
    """
    return cv2.warpAffine(
        img,
        np.asarray(warp, np.float64),
        tuple(int(s) for s in size),
        flags=_INTERP[interpolation],
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value, ) * 3)


def _to_pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    w, h = size
    if w != h:
        raise ValueError(f'views are square; got input_size {size}')
    return int(w), int(h)


@TRANSFORMS.register_module()
class HandCanonicalCrop(BaseTransform):
    """The canonical square crop around the hand, as a matrix (no resample).

    The box comes from the 2-D keypoints when the sample has them, else from
    its bbox, else it is the whole image (``source='auto'``); it is made
    square on its longer side and enlarged by ``padding``. A left hand
    (``is_left``) is mirrored about the box centre into a right hand, so the
    crop matrix then has a negative determinant.

    Required Keys:
        - img_shape
        - keypoints (optional), bbox (optional), is_left (optional)

    Added Keys:
        - crop_mat (2x3 float64), crop_center, crop_size, input_size

    Args:
        input_size (int | tuple): side of the square view in pixels.
        padding (float): box side = padding * longer side of the keypoint or
            bbox extent. Not applied to the whole-image box.
        source (str): ``'auto'``, ``'keypoints'``, ``'bbox'`` or ``'image'``.
        image_scale (float): side of the whole-image box in units of the
            image's longer side, about the image centre. The released PeCLR
            test script crops ``0.33 / 0.7`` of it (its box scaled by 0.33,
            then the box filling 0.7 of the view).
    """

    def __init__(self,
                 input_size: Union[int, Sequence[int]] = 128,
                 padding: float = 1.25,
                 source: str = 'auto',
                 image_scale: float = 1.):
        if source not in ('auto', 'keypoints', 'bbox', 'image'):
            raise ValueError(f'unknown crop source {source!r}')
        if not (np.isfinite(image_scale) and image_scale > 0
                and np.isfinite(padding) and padding > 0):
            raise ValueError('HandCanonicalCrop: padding and image_scale '
                             f'must be positive, got {padding} and '
                             f'{image_scale}')
        self.input_size = _to_pair(input_size)
        self.padding = padding
        self.source = source
        self.image_scale = float(image_scale)

    def _box(self, results: dict) -> Tuple[np.ndarray, float]:
        source = self.source
        if source == 'auto':
            if results.get('keypoints') is not None:
                source = 'keypoints'
            elif results.get('bbox') is not None:
                source = 'bbox'
            else:
                source = 'image'
        if source == 'image':
            h, w = results['img_shape'][:2]
            return np.array([w / 2.,
                             h / 2.]), float(max(w, h)) * self.image_scale
        if source == 'keypoints':
            kpts = np.asarray(results['keypoints'], np.float64).reshape(-1, 2)
            vis = results.get('keypoints_visible')
            if vis is not None:
                kpts = kpts[np.asarray(vis).reshape(-1) > 0]
            if len(kpts) == 0:
                raise ValueError(f'{results.get("img_path")}: no visible '
                                 'keypoints to crop around')
            lo, hi = kpts.min(0), kpts.max(0)
        else:
            box = np.asarray(results['bbox'], np.float64).reshape(-1, 4)[0]
            lo, hi = box[:2], box[2:]
        center, side = square_box(lo, hi, self.padding)
        return center, max(float(side), 1.)

    def transform(self, results: dict) -> dict:
        center, size = self._box(results)
        results['crop_center'] = center
        results['crop_size'] = size
        results['crop_mat'] = canonical_crop(center, size, self.input_size[0],
                                             bool(results.get('is_left')))
        results['input_size'] = self.input_size
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'padding={self.padding}, source={self.source!r}, '
                f'image_scale={self.image_scale})')


def _set_similarity(results: dict, theta: float, s: float,
                    shift: np.ndarray) -> dict:
    """Record the augmentation ``T(shift * size) . R(theta) . S(s)`` about
    the view centre in ``results`` (``aug_mat``, ``theta``, ``s``,
    ``shift``)."""
    size = results['input_size'][0]
    results['theta'] = float(theta)
    results['s'] = float(s)
    results['shift'] = np.asarray(shift, np.float64).reshape(2)
    results['aug_mat'] = similarity_about((size / 2., size / 2.), theta, s,
                                          results['shift'] * size)
    return results


@TRANSFORMS.register_module()
class RandomSimilarity(BaseTransform):
    """Draw the view's augmentation ``A = T(t) . R(theta) . S(s)`` about the
    view centre (docs/design.md section 2). Nothing is resampled here.

    The defaults are the paper's: rotation uniform in +-45 degrees, crop
    margin in [0.9, 1.5] (the box is ``margin`` times the canonical one, so
    the magnification is ``s = 1 / margin``), content shift uniform up to
    14 px at 128 px per axis.

    Required Keys:
        - input_size (from :class:`HandCanonicalCrop`)

    Added Keys:
        - aug_mat (2x3 float64), theta (degrees), s, shift (t / view size)

    Args:
        rotate (float): maximum absolute rotation in degrees.
        margin_range (tuple): range of the crop margin; ``s = 1 / margin``.
        shift (float): maximum absolute content shift per axis as a fraction
            of the view size.
        prob (float): probability of drawing a non-identity augmentation.
    """

    def __init__(self,
                 rotate: float = 45.,
                 margin_range: Tuple[float, float] = (0.9, 1.5),
                 shift: float = 14. / 128.,
                 prob: float = 1.):
        if margin_range[0] <= 0 or margin_range[0] > margin_range[1]:
            raise ValueError(f'bad margin_range {margin_range}')
        self.rotate = rotate
        self.margin_range = tuple(margin_range)
        self.shift = shift
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            theta = float(np.random.uniform(-self.rotate, self.rotate))
            s = 1. / float(np.random.uniform(*self.margin_range))
            shift = np.random.uniform(-self.shift, self.shift, size=2)
        else:
            theta, s, shift = 0., 1., np.zeros(2)
        return _set_similarity(results, theta, s, shift)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rotate={self.rotate}, '
                f'margin_range={self.margin_range}, shift={self.shift}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class FixedSimilarity(BaseTransform):
    """A chosen augmentation ``A = T(t) . R(theta) . S(s)`` about the view
    centre, recorded as :class:`RandomSimilarity` records a drawn one: for
    analyses that rotate or shift every view by a known amount.

    Required Keys:
        - input_size (from :class:`HandCanonicalCrop`)

    Added Keys:
        - aug_mat (2x3 float64), theta (degrees), s, shift (t / view size)

    Args:
        theta (float): rotation in degrees (counter-clockwise on screen).
        s (float): magnification.
        shift (tuple): content shift (x, y) as fractions of the view size.
    """

    def __init__(self,
                 theta: float = 0.,
                 s: float = 1.,
                 shift: Tuple[float, float] = (0., 0.)):
        if not s > 0:
            raise ValueError(f'FixedSimilarity: s must be positive, got {s}')
        if len(shift) != 2:
            raise ValueError(f'FixedSimilarity: shift must be (x, y), '
                             f'got {shift}')
        self.theta = float(theta)
        self.s = float(s)
        self.shift = tuple(float(v) for v in shift)

    def transform(self, results: dict) -> dict:
        return _set_similarity(results, self.theta, self.s,
                               np.asarray(self.shift))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(theta={self.theta}, s={self.s}, '
                f'shift={self.shift})')


@TRANSFORMS.register_module()
class WarpView(BaseTransform):
    """Resample the image once with ``warp_mat = A . C``.

    Moves the 2-D keypoints by the same matrix and, when the sample has a
    camera, composes it into the crop's intrinsics.

    Required Keys:
        - img, crop_mat, input_size
        - aug_mat (optional; identity when absent)
        - keypoints (optional), K (optional)

    Modified Keys:
        - img, img_shape

    Added Keys:
        - warp_mat (2x3 float32), theta, s, shift (identity values when no
          augmentation was drawn), transformed_keypoints, K_crop
        - source_img (with ``keep_source``): the image before the warp, for
          a test-time second crop (``TopdownHand3DEstimator``'s
          ``test_cfg['recrop']``)

    Args:
        interpolation (str): ``'bilinear'`` or ``'nearest'``.
        border_value (int): constant fill outside the source image.
        keep_source (bool): keep the unwarped image as ``source_img``.
    """

    def __init__(self,
                 interpolation: str = 'bilinear',
                 border_value: int = 0,
                 keep_source: bool = False):
        if interpolation not in _INTERP:
            raise ValueError(f'unknown interpolation {interpolation!r}')
        self.interpolation = interpolation
        self.border_value = border_value
        self.keep_source = bool(keep_source)

    def transform(self, results: dict) -> dict:
        w, h = results['input_size']
        aug = results.get('aug_mat')
        if aug is None:
            aug = np.eye(3)[:2]
            results.update(theta=0., s=1., shift=np.zeros(2), aug_mat=aug)
        warp = compose(aug, results['crop_mat'])
        if self.keep_source:
            results['source_img'] = results['img']
        results['img'] = warp_image(results['img'], warp, (w, h),
                                    self.interpolation, self.border_value)
        results['img_shape'] = (h, w)
        results['warp_mat'] = warp.astype(np.float32)
        if results.get('keypoints') is not None:
            results['transformed_keypoints'] = transform_points(
                results['keypoints'], warp).astype(np.float32)
        if results.get('K') is not None:
            results['K_crop'] = crop_intrinsics(results['K'],
                                                warp).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(interpolation='
                f'{self.interpolation!r}, border_value={self.border_value}, '
                f'keep_source={self.keep_source})')
