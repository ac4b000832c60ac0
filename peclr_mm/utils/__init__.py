# Copyright (c) peclr_mm authors. All rights reserved.
"""Helpers of the package. ``config`` (config edits of the benchmark tools)
and ``timing`` (interleaved timing) are not loaded with the package: import
them as ``peclr_mm.utils.config`` and ``peclr_mm.utils.timing``."""
from . import affine, arrays, camera, io

__all__ = ['affine', 'arrays', 'camera', 'io']
