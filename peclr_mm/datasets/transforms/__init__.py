# Copyright (c) peclr_mm authors. All rights reserved.
from .affine import (FixedSimilarity, HandCanonicalCrop, RandomSimilarity,
                     WarpView)
from .color import HSVJitter
from .formatting import PackHand3DInputs, PackPeCLRInputs
from .loading import LoadHandImage, LoadRandomVersion, LoadSimilarHand
from .multiview import MultiViewWithGeometry

__all__ = [
    'HandCanonicalCrop', 'RandomSimilarity', 'FixedSimilarity', 'WarpView',
    'HSVJitter', 'MultiViewWithGeometry', 'PackPeCLRInputs',
    'PackHand3DInputs', 'LoadHandImage', 'LoadRandomVersion', 'LoadSimilarHand'
]
