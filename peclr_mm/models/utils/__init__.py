# Copyright (c) peclr_mm authors. All rights reserved.
from .latent_geometry import apply_view_geometry, undo_view_geometry

__all__ = ['undo_view_geometry', 'apply_view_geometry']
