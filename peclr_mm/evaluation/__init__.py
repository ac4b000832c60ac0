# Copyright (c) peclr_mm authors. All rights reserved.
"""Metrics, the mean-pose reference and the FreiHAND submission."""
from .functional import (FREIHAND_THRESHOLDS, align_w_scale, epe_2d,
                         freihand_scores, named_scores, root_relative_epe)
from .mean_pose import (MEAN_POSE_KEYS, MeanPose, fit_mean_pose,
                        load_mean_pose, mean_pose_scores)
from .metrics import FreiHand3DMetric, Keypoints2DWriter
from .submission import load_freihand_submission, write_freihand_submission

__all__ = [
    'FREIHAND_THRESHOLDS', 'align_w_scale', 'freihand_scores',
    'root_relative_epe', 'epe_2d', 'named_scores', 'FreiHand3DMetric',
    'Keypoints2DWriter', 'load_freihand_submission',
    'write_freihand_submission', 'MeanPose', 'MEAN_POSE_KEYS', 'fit_mean_pose',
    'load_mean_pose', 'mean_pose_scores'
]
