# Copyright (c) peclr_mm authors. All rights reserved.
"""The affine maths of the project, in one place.

Conventions (docs/design.md section 2): a ``warp_mat`` is a 2x3 float matrix in
OpenCV's convention that maps source-image pixels to view pixels. Angles are
degrees with OpenCV's sign (positive turns the picture counter-clockwise as
displayed). The augmentation part of a view's warp is the similarity
``A = T(t) . R(theta) . S(s)`` about the view centre, and
``warp_mat == A . C`` where ``C`` is the canonical crop.
"""
from typing import Sequence, Tuple

import numpy as np

__all__ = [
    'to_homogeneous', 'compose', 'invert', 'transform_points', 'square_box',
    'crop_matrix', 'similarity_about', 'decompose_similarity',
    'crop_intrinsics'
]


def to_homogeneous(mat: np.ndarray) -> np.ndarray:
    """Return the 3x3 homogeneous form of a 2x3 (or 3x3) affine matrix."""
    mat = np.asarray(mat, dtype=np.float64)
    if mat.shape == (3, 3):
        return mat.copy()
    if mat.shape != (2, 3):
        raise ValueError(f'expected a 2x3 affine matrix, got {mat.shape}')
    return np.vstack([mat, [0., 0., 1.]])


def compose(*mats: np.ndarray) -> np.ndarray:
    """Compose affine matrices: ``compose(A, B, C)`` applies C, then B, then
    A (the matrix product ``A @ B @ C``). Returns 2x3 float64."""
    out = np.eye(3)
    for mat in mats:
        out = out @ to_homogeneous(mat)
    return out[:2]


def invert(mat: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix, as 2x3 float64."""
    return np.linalg.inv(to_homogeneous(mat))[:2]


def transform_points(points: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to points of shape (..., 2).

    Args:
        points: (..., 2) points, e.g. in source-image pixels.
        mat: 2x3 affine matrix (e.g. a ``warp_mat``).

    Returns:
        np.ndarray: (..., 2) float64 mapped points.
    """
    points = np.asarray(points, dtype=np.float64)
    mat = np.asarray(mat, dtype=np.float64)
    return points @ mat[:, :2].T + mat[:, 2]


def square_box(lo: np.ndarray,
               hi: np.ndarray,
               padding: float = 1.) -> Tuple[np.ndarray, np.ndarray]:
    """The square on the longer side of the boxes ``[lo, hi]``, enlarged by
    ``padding`` (the canonical hand crop's box).

    Args:
        lo: (..., 2) box corners with the smaller coordinates.
        hi: (..., 2) the larger ones.
        padding: side = ``padding`` * longer side.

    Returns:
        tuple: centres (..., 2) and sides (...) in the boxes' pixels.
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    return (lo + hi) / 2., (hi - lo).max(axis=-1) * padding


def crop_matrix(center: Sequence[float], size: float,
                out_size: int) -> np.ndarray:
    """Canonical crop: the square of side ``size`` centred on ``center`` (in
    source pixels) maps onto an ``out_size`` x ``out_size`` view.

    The centre of the square lands on the view centre ``out_size / 2``, so
    ``crop_matrix`` agrees with mmpose's ``get_warp_matrix`` for a square box
    without rotation.

    Args:
        center: (x, y) centre of the square in source pixels.
        size: side of the square in source pixels, positive.
        out_size: side of the square view in pixels.

    Returns:
        np.ndarray: 2x3 float64 map from source pixels to view pixels.

    Raises:
        ValueError: ``size`` is not positive.
    """
    if size <= 0:
        raise ValueError(f'crop size must be positive, got {size}')
    k = out_size / float(size)
    cx, cy = float(center[0]), float(center[1])
    half = out_size / 2.
    return np.array([[k, 0., half - k * cx], [0., k, half - k * cy]])


def similarity_about(center: Sequence[float],
                     theta: float = 0.,
                     scale: float = 1.,
                     shift: Sequence[float] = (0., 0.)) -> np.ndarray:
    """``T(shift) . R(theta) . S(scale)`` about ``center``.

    Args:
        center: fixed point of rotation and scaling, (x, y) in view pixels.
        theta: degrees, OpenCV's sign (``cv2.getRotationMatrix2D``).
        scale: magnification, > 1 makes content bigger.
        shift: displacement of the content in view pixels (x > 0 moves the
            content right).

    Returns:
        np.ndarray: 2x3 float64, equal to
        ``cv2.getRotationMatrix2D(center, theta, scale)`` plus ``shift``.
    """
    rad = np.deg2rad(theta)
    a, b = scale * np.cos(rad), scale * np.sin(rad)
    cx, cy = float(center[0]), float(center[1])
    return np.array([[a, b, (1 - a) * cx - b * cy + shift[0]],
                     [-b, a, b * cx + (1 - a) * cy + shift[1]]])


def decompose_similarity(mat: np.ndarray, center: Sequence[float]
                         ) -> Tuple[float, float, np.ndarray]:
    """Inverse of :func:`similarity_about`: ``(theta, scale, shift)``.

    Args:
        mat: 2x3 similarity matrix.
        center: the fixed point (x, y) in view pixels it was built about.

    Returns:
        tuple: ``theta`` (float, degrees, OpenCV's sign), ``scale``
        (float) and ``shift`` ((2,) float64, view pixels).

    Raises:
        ValueError: if ``mat`` is not a similarity (shear, anisotropic scale
            or a reflection).
    """
    mat = np.asarray(mat, dtype=np.float64)
    a, b = mat[0, 0], mat[0, 1]
    if not (np.isclose(mat[1, 1], a, atol=1e-6 * max(1., abs(a)))
            and np.isclose(mat[1, 0], -b, atol=1e-6 * max(1., abs(b)))):
        raise ValueError(f'not a similarity: {mat.tolist()}')
    scale = float(np.hypot(a, b))
    theta = float(np.rad2deg(np.arctan2(b, a)))
    base = similarity_about(center, theta, scale)
    shift = mat[:, 2] - base[:, 2]
    return theta, scale, shift


def crop_intrinsics(K: np.ndarray, warp_mat: np.ndarray) -> np.ndarray:
    """Intrinsics of the cropped view: ``[warp_mat; 0 0 1] @ K``.

    Accepts a single 3x3 ``K`` with a 2x3 ``warp_mat`` or batched arrays
    (..., 3, 3) and (..., 2, 3).

    Args:
        K: (..., 3, 3) intrinsics of the source image, in pixels.
        warp_mat: (..., 2, 3) map from source pixels to view pixels.

    Returns:
        np.ndarray: (..., 3, 3) float64 intrinsics of the view.

    Raises:
        ValueError: ``K`` is not (..., 3, 3) or ``warp_mat`` not
            (..., 2, 3).
    """
    K = np.asarray(K, dtype=np.float64)
    warp_mat = np.asarray(warp_mat, dtype=np.float64)
    if K.shape[-2:] != (3, 3):
        raise ValueError(f'K must be 3x3, got {K.shape}')
    if warp_mat.shape[-2:] != (2, 3):
        raise ValueError(f'warp_mat must be 2x3, got {warp_mat.shape}')
    bottom = np.broadcast_to([0., 0., 1.], warp_mat.shape[:-2] + (1, 3))
    return np.concatenate([warp_mat, bottom], axis=-2) @ K
