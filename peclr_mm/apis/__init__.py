# Copyright (c) peclr_mm authors. All rights reserved.
from .inference import (DEFAULT_BONE_LENGTH, check_intrinsics,
                        default_intrinsics, inference_hand3d)

__all__ = [
    'inference_hand3d', 'default_intrinsics', 'check_intrinsics',
    'DEFAULT_BONE_LENGTH'
]
