# Copyright (c) peclr_mm authors. All rights reserved.
"""The hand's joint count, the one check of joint arrays that every
reader, metric and writer uses, the one check of hand boxes, and the
smallest image accepted."""
from typing import Optional, Tuple

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


#: Smallest side of a hand box, in pixels: below it a crop is a blur of a
#: few pixels enlarged, never a hand.
MIN_BBOX_SIDE = 4.
#: Smallest fraction of a hand box's area that must lie inside the image:
#: a box mostly outside crops border padding, not a hand.
MIN_BBOX_OVERLAP = 0.5


def check_bbox(bbox,
               name: str = 'bbox',
               image_size: Optional[Tuple[int, int]] = None,
               min_side: float = MIN_BBOX_SIDE,
               min_overlap: float = MIN_BBOX_OVERLAP) -> np.ndarray:
    """``bbox`` as float64 ``[x1, y1, x2, y2]``, refused (naming ``name``)
    unless finite with positive area and, when the image's size is given,
    sides of at least ``min_side`` pixels and at least ``min_overlap`` of
    its area inside the image.

    Args:
        bbox: four numbers ``[x1, y1, x2, y2]`` in pixels (any shape
            holding four).
        name: what ``bbox`` is, for the error message.
        image_size: ``(W, H)`` of the image the box is in, or ``None`` to
            check the numbers only.
        min_side: smallest width and height in pixels (with
            ``image_size``).
        min_overlap: smallest fraction of the box's area inside the image
            (with ``image_size``).

    Returns:
        np.ndarray: (4,) float64 box.

    Raises:
        ValueError: not four finite numbers with ``x2 > x1`` and
            ``y2 > y1``; a box too small or mostly outside the image.
    """
    box = np.asarray(bbox, np.float64).reshape(-1)
    if box.shape != (4, ) or not np.isfinite(box).all() or not (
            box[2] > box[0] and box[3] > box[1]):
        raise ValueError(f'{name} must be finite [x1, y1, x2, y2] with '
                         f'x2 > x1 and y2 > y1 (pixels), got '
                         f'{np.asarray(bbox).tolist()}')
    if image_size is None:
        return box
    w, h = image_size
    bw, bh = box[2] - box[0], box[3] - box[1]
    if min(bw, bh) < min_side:
        raise ValueError(f'{name} {box.tolist()} is {bw:g} x {bh:g} px; a '
                         f'hand box needs sides of at least {min_side:g} px')
    inside = (
        max(0.,
            min(box[2], w) - max(box[0], 0.)) *
        max(0.,
            min(box[3], h) - max(box[1], 0.)))
    if inside < min_overlap * bw * bh:
        raise ValueError(
            f'{name} {box.tolist()} lies {100 * inside / (bw * bh):.0f} % '
            f'inside the {w} x {h} image; at least '
            f'{100 * min_overlap:.0f} % of a hand box must be inside it')
    return box
