# Copyright (c) peclr_mm authors. All rights reserved.
from .freihand_metric import FreiHand3DMetric
from .keypoints_writer import Keypoints2DWriter

__all__ = ['FreiHand3DMetric', 'Keypoints2DWriter']
