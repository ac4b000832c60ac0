# Copyright (c) peclr_mm authors. All rights reserved.
from .inference import (DEFAULT_BONE_LENGTH, check_bbox, check_intrinsics,
                        default_camera, default_intrinsics, inference_hand3d,
                        inference_pipeline, mirror_intrinsics, mirror_matrix)

__all__ = [
    'inference_hand3d', 'inference_pipeline', 'default_intrinsics',
    'default_camera', 'check_intrinsics', 'check_bbox', 'mirror_matrix',
    'mirror_intrinsics', 'DEFAULT_BONE_LENGTH'
]
