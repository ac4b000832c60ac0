# Copyright (c) peclr_mm authors. All rights reserved.
"""The hand's joint count and the one check of joint arrays that every
reader, metric and writer uses."""
import numpy as np

__all__ = ['NUM_JOINTS', 'check_points']

#: FreiHAND's 21 joints (wrist; thumb, index, middle, ring, pinky base to
#: tip).
NUM_JOINTS = 21


def check_points(arr,
                 name: str,
                 num: int = NUM_JOINTS,
                 dim: int = 3,
                 unit: str = 'metres') -> np.ndarray:
    """``arr`` as float64 ``(N, num, dim)`` with N >= 1 and finite values,
    or a ``ValueError`` that names ``name`` (an argument, or a file and its
    field) and what was expected."""
    try:
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'{name} must be numbers of shape (N, {num}, {dim}) '
                         f'in {unit}; got ragged or non-numeric '
                         'entries') from exc
    if arr.ndim != 3 or arr.shape[1:] != (num, dim) or not len(arr):
        raise ValueError(f'{name} must have shape (N, {num}, {dim}) with '
                         f'N >= 1 ({unit}), got {arr.shape}')
    if not np.all(np.isfinite(arr)):
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise ValueError(f'{name} has a non-finite value in sample {bad}')
    return arr
