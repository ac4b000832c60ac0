# Copyright (c) peclr_mm authors. All rights reserved.
from .freihand_metric import FreiHand3DMetric

__all__ = ['FreiHand3DMetric']
