# Copyright (c) peclr_mm authors. All rights reserved.
"""The hand's joint count, the one check of joint arrays that every
reader, metric and writer uses, the one check of hand boxes, and the
smallest image accepted."""
from typing import Optional

import numpy as np

__all__ = [
    'NUM_JOINTS', 'MIN_IMAGE_SIDE', 'check_array', 'check_points',
    'check_bbox', 'image_size_problem'
]

#: FreiHAND's 21 joints (wrist; thumb, index, middle, ring, pinky base to
#: tip).
NUM_JOINTS = 21
#: Images smaller than this many pixels a side are refused: a hand crop of
#: a 1x1 image trains and scores on nothing.
MIN_IMAGE_SIDE = 32


def image_size_problem(shape) -> Optional[str]:
    """``'too small (WxH px; at least N px a side)'`` for an image of
    ``shape`` (H, W, ...) under :data:`MIN_IMAGE_SIDE`, else None."""
    h, w = int(shape[0]), int(shape[1])
    if min(h, w) < MIN_IMAGE_SIDE:
        return (f'too small ({w}x{h} px; at least {MIN_IMAGE_SIDE} px a '
                'side expected)')
    return None


def check_array(arr,
                name: str,
                shape: tuple,
                unit: str = '',
                min_len: int = 0) -> np.ndarray:
    """``arr`` as float64 ``(N, *shape)`` with N >= ``min_len`` and finite
    values, or a ``ValueError`` that names ``name`` (an argument, or a file
    and its field), what was expected and, for a non-finite value, the
    sample.

    Args:
        arr: array-like of N samples.
        name: what ``arr`` is, for the error message.
        shape: the shape of one sample (``()`` for scalars).
        unit: the unit named in the error message (e.g. ``'metres'``);
            empty for none.
        min_len: the least N accepted.

    Returns:
        np.ndarray: ``arr`` as float64 of shape ``(N, *shape)``.

    Raises:
        ValueError: ``arr`` is ragged or non-numeric, of another shape,
            shorter than ``min_len`` or not finite.
    """
    dims = ', '.join(['N', *map(str, shape)])
    unit = f' ({unit})' if unit else ''
    try:
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'{name} must be numbers of shape ({dims}){unit}; '
                         'got ragged or non-numeric entries') from exc
    if arr.ndim != len(shape) + 1 or arr.shape[1:] != tuple(shape) or \
            len(arr) < min_len:
        least = f' with N >= {min_len}' if min_len else ''
        raise ValueError(f'{name} must have shape ({dims}){least}{unit}, '
                         f'got {arr.shape}')
    if not np.all(np.isfinite(arr)):
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise ValueError(f'{name} has a non-finite value in sample {bad}')
    return arr


def check_points(arr,
                 name: str,
                 num: int = NUM_JOINTS,
                 dim: int = 3,
                 unit: str = 'metres') -> np.ndarray:
    """``arr`` as float64 ``(N, num, dim)`` with N >= 1 and finite values
    (:func:`check_array`).

    Args:
        arr: array-like of N point sets.
        name: what ``arr`` is, for the error message.
        num: points per sample (default the 21 joints).
        dim: coordinates per point (3 for joints in metres, 2 for pixels).
        unit: the unit named in the error message.

    Returns:
        np.ndarray: ``arr`` as float64 of shape (N, num, dim).

    Raises:
        ValueError: see :func:`check_array`.
    """
    return check_array(arr, name, (num, dim), unit, min_len=1)


def check_bbox(bbox, name: str = 'bbox') -> np.ndarray:
    """``bbox`` as float64 ``[x1, y1, x2, y2]``, refused (naming ``name``)
    unless finite with positive area.

    Args:
        bbox: four numbers ``[x1, y1, x2, y2]`` in pixels (any shape
            holding four).
        name: what ``bbox`` is, for the error message.

    Returns:
        np.ndarray: (4,) float64 box.

    Raises:
        ValueError: not four finite numbers with ``x2 > x1`` and
            ``y2 > y1``.
    """
    box = np.asarray(bbox, np.float64).reshape(-1)
    if box.shape != (4, ) or not np.isfinite(box).all() or not (
            box[2] > box[0] and box[3] > box[1]):
        raise ValueError(f'{name} must be finite [x1, y1, x2, y2] with '
                         f'x2 > x1 and y2 > y1 (pixels), got '
                         f'{np.asarray(bbox).tolist()}')
    return box
