# Copyright (c) peclr_mm authors. All rights reserved.
"""Crop helpers shared by the data pipeline and the model: the canonical
crop matrix of a square box, the box of a set of points and the single
resample of an image through a ``warp_mat`` (docs/design.md section 2).

They live here, below both ``datasets`` (whose transforms crop every
sample) and ``models`` (whose estimator crops again around its first
prediction), so that neither imports the other.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np

from .affine import compose, crop_matrix, invert, transform_points

__all__ = [
    'INTERPOLATIONS', 'canonical_crop', 'box_from_points', 'warp_image',
    'ANTIALIAS_BELOW'
]

#: The resampling methods of :func:`warp_image`, by name.
INTERPOLATIONS = dict(bilinear=cv2.INTER_LINEAR, nearest=cv2.INTER_NEAREST)


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


#: A bilinear warp that shrinks by more than this factor is prefiltered.
ANTIALIAS_BELOW = 0.5


def _prefilter(img: np.ndarray, warp: np.ndarray, size: Tuple[int, int],
               scale: float,
               border_value: int) -> Tuple[np.ndarray, np.ndarray]:
    """Area-average the part of ``img`` that the warp's output sees by the
    whole factor ``n = floor(1 / scale)`` (OpenCV's fast path), to between
    one and two times the output's resolution; return it and the exact
    remaining warp (``warp @ inverse(resize)``), so that the composition is
    ``warp``.

    The region is the bounding box of the output's preimage, ``2 / scale``
    source pixels wider, clipped to the image and padded with
    ``border_value`` to a multiple of ``n`` (the padding lies outside what
    the output sees, or outside the image).
    """
    h, w = img.shape[:2]
    ow, oh = size
    corners = np.array([[-.5, -.5], [ow - .5, -.5], [-.5, oh - .5],
                        [ow - .5, oh - .5]])
    pre = transform_points(corners, invert(warp))
    margin = 2. / scale
    lo = np.floor(pre.min(0) - margin)
    hi = np.ceil(pre.max(0) + margin)
    x0, y0 = int(max(lo[0], 0)), int(max(lo[1], 0))
    x1, y1 = int(min(hi[0], w - 1)), int(min(hi[1], h - 1))
    if x1 < x0 or y1 < y0:  # the output sees none of the image
        return img, warp
    n = int(1. / scale)
    region = img[y0:y1 + 1, x0:x1 + 1]
    pad_x, pad_y = -(x1 - x0 + 1) % n, -(y1 - y0 + 1) % n
    if pad_x or pad_y:
        region = cv2.copyMakeBorder(
            region,
            0,
            pad_y,
            0,
            pad_x,
            cv2.BORDER_CONSTANT,
            value=(border_value, ) * 3)
    rh, rw = region.shape[:2]
    region = cv2.resize(
        region, (rw // n, rh // n), interpolation=cv2.INTER_AREA)
    f = 1. / n
    # pixel centres of the region: (u - x0 + 0.5) / n - 0.5
    resize = np.array([[f, 0., (.5 - x0) * f - .5],
                       [0., f, (.5 - y0) * f - .5]])
    return region, compose(warp, invert(resize))


def warp_image(img: np.ndarray,
               warp: np.ndarray,
               size: Tuple[int, int],
               interpolation: str = 'bilinear',
               border_value: int = 0,
               antialias: bool = True) -> np.ndarray:
    """Resample ``img`` once with the 2x3 ``warp`` onto ``size`` (W, H),
    constant ``border_value`` outside.

    A bilinear warp that shrinks by more than 2x (its largest singular
    value under :data:`ANTIALIAS_BELOW`) reads a few source pixels per
    output pixel and aliases (the noise of a phone photo becomes another
    picture): with ``antialias`` the part of the image the output sees is
    first area-averaged (``cv2.INTER_AREA``, by a whole factor) to one to
    two times the output's resolution, and the rest of the warp, composed
    exactly, resamples that. The map from ``img`` to the output is
    ``warp`` either way.

    Args:
        img: (H, W) or (H, W, C) image.
        warp: 2x3 map from ``img`` pixels to output pixels.
        size: (W, H) of the output in pixels.
        interpolation: ``'bilinear'`` or ``'nearest'``.
        border_value: the value of each channel outside ``img``.
        antialias: prefilter a bilinear warp that shrinks by more than 2x.

    Returns:
        np.ndarray: the (H, W[, C]) resampled image, of ``img``'s dtype.
    """
    warp = np.asarray(warp, np.float64)
    size = tuple(int(s) for s in size)
    if np.linalg.det(warp[:, :2]) < 0:
        # a mirroring warp (a left hand): resample the image mirrored by
        # cv2.flip (u -> W - 1 - u) with the rest of the warp, so that the
        # crop is a mirrored copy's pixel for pixel (OpenCV's fixed-point
        # coordinates round mirrored positions differently)
        width = img.shape[1]
        img = cv2.flip(img, 1)
        warp = compose(warp, [[-1., 0., width - 1.], [0., 1., 0.]])
    if antialias and interpolation == 'bilinear':
        scale = float(np.linalg.svd(warp[:, :2], compute_uv=False)[0])
        if 0 < scale < ANTIALIAS_BELOW:
            img, warp = _prefilter(img, warp, size, scale, border_value)
    return cv2.warpAffine(
        img,
        warp,
        size,
        flags=INTERPOLATIONS[interpolation],
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value, ) * 3)
