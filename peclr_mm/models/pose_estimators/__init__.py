# Copyright (c) peclr_mm authors. All rights reserved.
from .topdown_hand3d import TopdownHand3DEstimator

__all__ = ['TopdownHand3DEstimator']
