# Copyright (c) peclr_mm authors. All rights reserved.
"""Affine-tracking geometric transforms.

The geometry of a view is composed as matrices and the image is resampled
once, by :class:`WarpView`: ``warp_mat = A . C`` with ``C`` the canonical
crop (:class:`HandCanonicalCrop`) and ``A = T(t) . R(theta) . S(s)`` the
random similarity about the view centre (:class:`RandomSimilarity`).
"""
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...utils.affine import (compose, crop_intrinsics, similarity_about,
                             square_box, transform_points)
from ...utils.camera import mirror_matrix
# the crop helpers moved to utils (the model crops too); re-exported here
from ...utils.crop import INTERPOLATIONS as _INTERP
from ...utils.crop import box_from_points, canonical_crop, warp_image

__all__ = [
    'canonical_crop', 'box_from_points', 'warp_image', 'HandCanonicalCrop',
    'RandomSimilarity', 'WarpView'
]


def _to_pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """``input_size`` as (W, H) of a square view, refused (naming
    ``input_size``) unless one positive whole number of pixels."""
    pair = (size, size) if np.ndim(size) == 0 else tuple(size)
    try:
        w, h = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError('HandCanonicalCrop: input_size must be a positive '
                         f'whole number of pixels, got {size!r}') from None
    if not (w == h and w >= 1 and w == int(w)):
        raise ValueError('HandCanonicalCrop: input_size must be one '
                         'positive whole number of pixels (views are '
                         f'square), got {size!r}')
    return int(w), int(h)


@TRANSFORMS.register_module()
class HandCanonicalCrop(BaseTransform):
    """The canonical square crop around the hand, as a matrix (no resample).

    The box comes from the 2-D keypoints when the sample has them, else from
    its bbox, else it is the whole image (``source='auto'``); it is made
    square on its longer side and enlarged by ``padding``. A left hand
    (``is_left``) is mirrored into a right hand: the crop is the one of the
    image mirrored as ``cv2.flip(img, 1)`` (column ``u -> W - 1 - u``, the
    box mirrored with it), composed with that mirror, so it equals the
    crop of a mirrored copy of the data set exactly and has a negative
    determinant. A sample without what ``source`` asks for (a data set
    read with ``with_labels='camera'`` has no ``bbox``) is refused with
    the fix (``source='image'``) named.

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

    def _source(self, results: dict) -> str:
        if self.source != 'auto':
            return self.source
        if results.get('keypoints') is not None:
            return 'keypoints'
        if results.get('bbox') is not None:
            return 'bbox'
        return 'image'

    def _box(self, results: dict) -> Tuple[np.ndarray, float]:
        source = self._source(results)
        if source == 'image':
            h, w = results['img_shape'][:2]
            return np.array([w / 2.,
                             h / 2.]), float(max(w, h)) * self.image_scale
        key = 'keypoints' if source == 'keypoints' else 'bbox'
        if results.get(key) is None:
            raise KeyError(
                f'{results.get("img_path", "the sample")}: '
                f"HandCanonicalCrop(source='{source}') crops around the "
                f"sample's {key!r}, which it lacks (a data set read with "
                "with_labels='camera' or False has no joints or boxes): use "
                "source='image' to crop the whole image, or 'auto'")
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
        left = bool(results.get('is_left'))
        if left and self._source(results) == 'image':
            # the mirrored image's own whole-image box, seen in this image
            flip = mirror_matrix(results['img_shape'][1])
            center = transform_points(center, flip)
        results['crop_center'] = center
        results['crop_size'] = size
        # mirrored about the box centre: cv2.flip's mirror for a box that
        # was mirrored with the image (canonical_crop's identity)
        results['crop_mat'] = canonical_crop(center, size, self.input_size[0],
                                             left)
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
        antialias (bool): area-prefilter a bilinear warp that shrinks by
            more than 2x (``warp_image``); ``warp_mat`` is exact either way.
    """

    def __init__(self,
                 interpolation: str = 'bilinear',
                 border_value: int = 0,
                 keep_source: bool = False,
                 antialias: bool = True):
        if interpolation not in _INTERP:
            raise ValueError(f'unknown interpolation {interpolation!r}')
        self.interpolation = interpolation
        self.border_value = border_value
        self.keep_source = bool(keep_source)
        self.antialias = bool(antialias)

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
                                    self.interpolation, self.border_value,
                                    self.antialias)
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
                f'keep_source={self.keep_source}, '
                f'antialias={self.antialias})')
