# Copyright (c) peclr_mm authors. All rights reserved.
from ..utils.latent_geometry import undo_view_geometry
from .equivariant_nt_xent import (equivariant_nt_xent, gather_with_grad,
                                  nt_xent, pose_distance_weights)

__all__ = [
    'equivariant_nt_xent', 'nt_xent', 'pose_distance_weights',
    'undo_view_geometry', 'gather_with_grad'
]
