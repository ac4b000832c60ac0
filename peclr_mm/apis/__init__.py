# Copyright (c) peclr_mm authors. All rights reserved.
from .detectors import (MEDIAPIPE_VERSION, MediaPipeHands, MMDetHandDetector,
                        build_detector, import_mediapipe_hands)
from .inference import (BONE_LENGTH_RANGE, CONFIDENCE_SIGMA,
                        DEFAULT_BONE_LENGTH, DEFAULT_FOCAL_PER_SIDE,
                        HandPipeline, check_bbox, check_bone_length,
                        check_intrinsics, default_camera, default_intrinsics,
                        exif_focal_35mm, inference_hand3d, inference_pipeline,
                        inference_topdown_hand3d, keep_bone_length,
                        landmark_confidence, load_image, mirror_intrinsics,
                        mirror_matrix, predict_hands)
from .inferencer import (Hand3DPoseInferencer, check_out_dir, check_show,
                         expand_inputs, resolve_config)
from .tracking import HandTracker, box_iou, merge_duplicates

__all__ = [
    'HandPipeline', 'inference_hand3d', 'inference_topdown_hand3d',
    'predict_hands', 'inference_pipeline', 'load_image', 'default_intrinsics',
    'default_camera', 'exif_focal_35mm', 'check_intrinsics', 'check_bbox',
    'check_bone_length', 'landmark_confidence', 'keep_bone_length',
    'mirror_matrix', 'mirror_intrinsics', 'DEFAULT_BONE_LENGTH',
    'DEFAULT_FOCAL_PER_SIDE', 'BONE_LENGTH_RANGE', 'CONFIDENCE_SIGMA',
    'Hand3DPoseInferencer', 'expand_inputs', 'resolve_config', 'check_show',
    'check_out_dir', 'HandTracker', 'box_iou', 'merge_duplicates',
    'MediaPipeHands', 'MMDetHandDetector', 'build_detector',
    'import_mediapipe_hands', 'MEDIAPIPE_VERSION'
]
