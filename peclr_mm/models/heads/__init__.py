# Copyright (c) peclr_mm authors. All rights reserved.
from .equivariant_contrastive_head import EquivariantContrastiveHead
from .hand25d_head import BaseHand25DHead, Hand25DHead
from .hand25d_heatmap_head import Hand25DHeatmapHead, soft_argmax_2d

__all__ = [
    'BaseHand25DHead', 'Hand25DHead', 'Hand25DHeatmapHead', 'soft_argmax_2d',
    'EquivariantContrastiveHead'
]
