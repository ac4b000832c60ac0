# Copyright (c) peclr_mm authors. All rights reserved.
from .detectors import MediaPipeHandDetector, MMDetHandDetector, build_detector
from .inference import (DEFAULT_BONE_LENGTH, check_bbox, check_intrinsics,
                        default_camera, default_intrinsics, inference_hand3d,
                        inference_pipeline, inference_topdown_hand3d,
                        load_image, mirror_intrinsics, mirror_matrix)
from .inferencer import Hand3DInferencer, expand_inputs, resolve_config

__all__ = [
    'inference_hand3d', 'inference_topdown_hand3d', 'inference_pipeline',
    'load_image', 'default_intrinsics', 'default_camera', 'check_intrinsics',
    'check_bbox', 'mirror_matrix', 'mirror_intrinsics', 'DEFAULT_BONE_LENGTH',
    'Hand3DInferencer', 'expand_inputs', 'resolve_config',
    'MediaPipeHandDetector', 'MMDetHandDetector', 'build_detector'
]
