# Copyright (c) peclr_mm authors. All rights reserved.
from . import affine, arrays, camera, checkpoint, config, io, timing

__all__ = [
    'affine', 'arrays', 'camera', 'checkpoint', 'config', 'io', 'timing'
]
