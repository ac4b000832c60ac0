# Copyright (c) peclr_mm authors. All rights reserved.
from ..utils.latent_geometry import undo_view_geometry
from .equivariant_nt_xent import (ViewGeometry, equivariant_nt_xent,
                                  equivariant_nt_xent_views, gather_with_grad,
                                  nt_xent, pose_distance_weights)

__all__ = [
    'ViewGeometry', 'equivariant_nt_xent_views', 'equivariant_nt_xent',
    'nt_xent', 'pose_distance_weights', 'undo_view_geometry',
    'gather_with_grad'
]
