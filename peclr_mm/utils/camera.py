# Copyright (c) peclr_mm authors. All rights reserved.
"""The pinhole camera, for NumPy arrays and torch tensors alike
(docs/design.md section 2): ``uv = (K @ X.T).T; uv = uv[:, :2] / uv[:, 2:]``.

The crop's intrinsics ``K_crop = [warp_mat; 0 0 1] @ K`` live beside the
affine maths (:func:`peclr_mm.utils.affine.crop_intrinsics`).
"""
from typing import Optional

import numpy as np

__all__ = [
    'project', 'backproject', 'inverse_3x3', 'intrinsics_problem',
    'check_intrinsics', 'check_intrinsics_batch', 'FOCAL_RANGE_PER_SIDE',
    'mirror_matrix', 'mirror_intrinsics'
]

#: The last row of a pinhole matrix (compared as ``np.allclose`` would).
_LAST_ROW = np.array([0., 0., 1.])


def _is_torch(x) -> bool:
    return hasattr(x, 'detach') and hasattr(x, 'transpose')


def project(xyz, K, eps: Optional[float] = None, keep_sign: bool = False):
    """Pinhole projection of points in the camera frame.

    Args:
        xyz: (..., J, 3) points (any length unit), NumPy or torch.
        K: (..., 3, 3) intrinsics broadcastable against ``xyz``'s batch.
        eps: guard for depths near zero. ``None`` divides as is. With
            ``keep_sign=False`` a depth below ``eps`` (a point on or behind
            the camera plane) is taken as ``eps``: a large error rather than
            a mirrored point, for scoring predictions. With
            ``keep_sign=True`` depths within ``eps`` of zero are pushed to
            ``+-eps`` and the sign is kept, so gradients stay finite.

    Returns:
        (..., J, 2) pixel coordinates, the type of ``xyz``.
    """
    if _is_torch(xyz):
        import torch
        uvw = xyz @ K.to(xyz).transpose(-1, -2)
        depth = uvw[..., 2:]
        if eps is not None:
            if keep_sign:
                depth = torch.where(
                    depth.abs() < eps,
                    torch.where(depth < 0, -eps, eps).to(depth), depth)
            else:
                depth = depth.clamp(min=eps)
        return uvw[..., :2] / depth
    xyz = np.asarray(xyz, np.float64)
    K = np.asarray(K, np.float64)
    uvw = xyz @ np.swapaxes(K, -1, -2)
    depth = uvw[..., 2:]
    if eps is not None:
        if keep_sign:
            depth = np.where(
                np.abs(depth) < eps, np.where(depth < 0, -eps, eps), depth)
        else:
            depth = np.maximum(depth, eps)
    return uvw[..., :2] / depth


def inverse_3x3(K):
    """Inverse of (..., 3, 3) torch matrices by the adjugate: elementwise
    operations only, so that the ONNX export (which has no matrix inverse)
    keeps the camera maths in the graph."""
    import torch
    (a, b, c), (d, e, f), (g, h,
                           i) = [K[..., r, :].unbind(-1) for r in range(3)]
    cof = torch.stack([
        e * i - f * h, c * h - b * i, b * f - c * e, f * g - d * i, a * i -
        c * g, c * d - a * f, d * h - e * g, b * g - a * h, a * e - b * d
    ], -1).reshape(K.shape)
    det = a * (e * i - f * h) + b * (f * g - d * i) + c * (d * h - e * g)
    return cof / det[..., None, None]


def backproject(uv, K, eps: float = 1e-8):
    """Rays ``Xhat = K^-1 [u, v, 1]`` scaled to unit depth, so that
    ``X = Xhat * Z`` (NumPy or torch).

    Args:
        uv: (..., J, 2) pixels.
        K: (..., 3, 3) intrinsics broadcastable against ``uv``'s batch.

    Returns:
        (..., J, 3) with last coordinate 1.
    """
    if _is_torch(uv):
        import torch
        K_inv = inverse_3x3(K.to(uv))
        uv1 = torch.cat([uv, torch.ones_like(uv[..., :1])], dim=-1)
        xhat = uv1 @ K_inv.transpose(-1, -2)
        w = xhat[..., 2:]
        # K's last row is (0, 0, 1) for any affine crop, making the third
        # coordinate 1 already; dividing keeps X = Xhat * Z exact otherwise
        w = torch.where(w.abs() < eps, torch.full_like(w, eps), w)
        return xhat / w
    uv = np.asarray(uv, np.float64)
    K_inv = np.linalg.inv(np.asarray(K, np.float64))
    uv1 = np.concatenate([uv, np.ones_like(uv[..., :1])], axis=-1)
    xhat = uv1 @ np.swapaxes(K_inv, -1, -2)
    w = xhat[..., 2:]
    return xhat / np.where(np.abs(w) < eps, eps, w)


#: Plausible intrinsics for an image whose longer side is S pixels: focal
#: lengths within [0.1 S, 100 S] (FreiHAND's: about 2.7 S), the principal
#: point within one image size of the image.
FOCAL_RANGE_PER_SIDE = (0.1, 100.)


def intrinsics_problem(K,
                       image_size=None,
                       positive_focal: bool = True) -> Optional[str]:
    """What is wrong with the 3x3 pinhole matrix ``K``, or None.

    Args:
        K: the matrix (anything NumPy reads as 3x3).
        image_size: (W, H) of the image it belongs to; the focal lengths and
            principal point are then checked for plausibility.
        positive_focal: refuse non-positive focal lengths (False for the
            intrinsics of a mirrored crop, whose fx is negative).
    """
    K = np.asarray(K, np.float64)
    if K.shape != (3, 3):
        return f'must be a 3x3 matrix, got shape {K.shape}'
    if not np.isfinite(K).all():
        return f'must be finite, got {K.tolist()}'
    if not (np.abs(K[2] - _LAST_ROW) <= 1e-8 + 1e-5 * _LAST_ROW).all():
        return f'the last row must be [0, 0, 1], got {K[2].tolist()}'
    fx, fy = K[0, 0], K[1, 1]
    if positive_focal and not (fx > 0 and fy > 0):
        return (f'the focal lengths fx = {fx:g} and fy = {fy:g} must be '
                'positive (pixels)')
    det = np.linalg.det(K)
    if not abs(det) > 1e-12 * max(abs(fx * fy), 1e-300):
        return f'must be invertible, got {K.tolist()}'
    if image_size is not None:
        w, h = (float(v) for v in image_size)
        side = max(w, h)
        lo, hi = FOCAL_RANGE_PER_SIDE
        if not (lo * side <= abs(fx) <= hi * side
                and lo * side <= abs(fy) <= hi * side):
            return (f'the focal lengths fx = {fx:g}, fy = {fy:g} px are '
                    f'implausible for a {w:g}x{h:g} image (expected '
                    f'{lo * side:g}..{hi * side:g})')
        if not (-w <= K[0, 2] <= 2 * w and -h <= K[1, 2] <= 2 * h):
            return (f'the principal point ({K[0, 2]:g}, {K[1, 2]:g}) is '
                    f'implausible for a {w:g}x{h:g} image')
    return None


def check_intrinsics(K,
                     name: str = 'K',
                     image_size=None,
                     positive_focal: bool = True) -> np.ndarray:
    """``K`` as a float64 3x3 pinhole matrix, refused unless it is finite,
    invertible, with positive focal lengths, last row ``[0, 0, 1]`` and,
    given ``image_size`` (W, H), plausible for that image
    (:func:`intrinsics_problem`).

    Args:
        K: the matrix (anything NumPy reads as 3x3), in pixels.
        name: what ``K`` is (an argument, or a file and its field), for
            the error message.
        image_size: (W, H) of the image in pixels; ``None`` skips the
            plausibility check.
        positive_focal: refuse non-positive focal lengths (False for the
            intrinsics of a mirrored crop).

    Returns:
        np.ndarray: ``K`` as (3, 3) float64.

    Raises:
        ValueError: names ``name`` and what was expected.
    """
    problem = intrinsics_problem(K, image_size, positive_focal)
    if problem is not None:
        raise ValueError(f'{name}: {problem}')
    return np.asarray(K, np.float64)


def check_intrinsics_batch(K, source: str, image_size=None) -> None:
    """Check (N, 3, 3) intrinsics; the first bad one is refused naming
    ``source`` (e.g. the file and field) and its sample index.

    Args:
        K: (N, 3, 3) intrinsics in pixels; the focal lengths must be
            positive.
        source: where ``K`` comes from, for the error message.
        image_size: (W, H) of the images in pixels; ``None`` skips the
            plausibility check.

    Raises:
        ValueError: ``'SOURCE, sample I: PROBLEM'``.
    """
    K = np.asarray(K, np.float64)
    # a vectorised screen; the single check words the first failure
    with np.errstate(all='ignore'):
        fine = np.isfinite(K).all(
            (1, 2)) & (np.abs(K[:, 2] - [0., 0., 1.]).max(-1)
                       <= 1e-8) & (K[:, 0, 0] > 0) & (
                           K[:, 1, 1] > 0)
        fine &= np.abs(
            np.linalg.det(np.where(fine[:, None, None], K, np.eye(3)))) > 0
        if image_size is not None:
            w, h = image_size
            lo, hi = FOCAL_RANGE_PER_SIDE
            f = K[:, [0, 1], [0, 1]]
            fine &= ((f >= lo * max(w, h)) & (f <= hi * max(w, h))).all(-1)
            fine &= (K[:, 0, 2] >= -w) & (K[:, 0, 2]
                                          <= 2 * w) & (K[:, 1, 2] >= -h) & (
                                              K[:, 1, 2] <= 2 * h)
    for i in np.flatnonzero(~fine):
        problem = intrinsics_problem(K[i], image_size)
        if problem is not None:
            raise ValueError(f'{source}, sample {i}: {problem}')


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
    flip = np.vstack([mirror_matrix(width), [0., 0., 1.]])
    return flip @ np.asarray(K, np.float64) @ np.diag([-1., 1., 1.])
