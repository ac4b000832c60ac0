# Copyright (c) peclr_mm authors. All rights reserved.
"""The view geometry on PeCLR's latent points (docs/design.md section 3).

A projection of ``D`` numbers is read as ``D / 2`` points in 2-D.
:func:`undo_view_geometry` takes a view's rotation and translation (and,
optionally, its scale) off them, as the loss does before comparing views;
:func:`apply_view_geometry` puts them on, where a perfectly equivariant
encoder's points would go (the probes' reference). Both return unit rows.
"""
from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ['undo_view_geometry', 'apply_view_geometry']


def _points(proj: torch.Tensor) -> torch.Tensor:
    if proj.dim() != 2 or proj.size(1) % 2:
        raise ValueError('proj must be (B, D) with D even, got '
                         f'{tuple(proj.shape)}')
    return F.normalize(proj, dim=1).view(proj.size(0), -1, 2)


def _extent(z: torch.Tensor) -> torch.Tensor:
    """(B, 1, 2) extent of each row's points."""
    return z.amax(dim=1, keepdim=True) - z.amin(dim=1, keepdim=True)


def _rotated_offsets(z: torch.Tensor, centre: torch.Tensor,
                     degrees: torch.Tensor) -> torch.Tensor:
    """The offsets of (B, m, 2) points from ``centre`` rotated by
    ``degrees`` (B, 1) in OpenCV's sign (positive: counter-clockwise on the
    image)."""
    rad = torch.deg2rad(degrees)
    a, b = torch.cos(rad), torch.sin(rad)
    dx, dy = (z - centre).unbind(-1)
    return torch.stack([a * dx + b * dy, -b * dx + a * dy], dim=-1)


def undo_view_geometry(proj: torch.Tensor,
                       theta: torch.Tensor,
                       shift: torch.Tensor,
                       scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Undo a view's similarity on its latent points; return unit rows.

    The shift is removed in units of the points' extent, then the points are
    rotated back about their centroid (extent and centroid detached).

    Args:
        proj (Tensor): (B, D) raw projections, D even.
        theta (Tensor): (B,) rotation of each view in degrees (OpenCV sign).
        shift (Tensor): (B, 2) content translation as a fraction of the view
            size (``t / S``).
        scale (Tensor, optional): (B,) magnification; ``None`` leaves scale
            alone, as in the paper.

    Returns:
        Tensor: (B, D) L2-normalised latent vectors.
    """
    z = _points(proj)
    z = z - shift.to(z).view(-1, 1, 2) * _extent(z).detach()
    centre = z.mean(dim=1, keepdim=True).detach()
    offset = _rotated_offsets(z, centre, -theta.to(z).view(-1, 1))
    if scale is not None:
        offset = offset / scale.to(z).view(-1, 1, 1)
    return F.normalize((offset + centre).flatten(1), dim=1)


def apply_view_geometry(proj: torch.Tensor,
                        theta: torch.Tensor,
                        shift: torch.Tensor,
                        scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Apply a view's similarity to latent points, the inverse of
    :func:`undo_view_geometry` (scale and rotate about the centroid, then
    add the shift times the extent); unit rows. Where a perfectly
    equivariant encoder's latent points go.

    Args:
        proj (Tensor): (B, D) raw projections of the untransformed images.
        theta (Tensor): (B,) rotations in degrees.
        shift (Tensor): (B, 2) translations as fractions of the view size.
        scale (Tensor, optional): (B,) magnifications.

    Returns:
        Tensor: (B, D) L2-normalised latent vectors.
    """
    z = _points(proj)
    centre = z.mean(dim=1, keepdim=True)
    if scale is not None:
        z = (z - centre) * scale.to(z).view(-1, 1, 1) + centre
    z = _rotated_offsets(z, centre, theta.to(z).view(-1, 1)) + centre
    z = z + shift.to(z).view(-1, 1, 2) * _extent(z)
    return F.normalize(z.flatten(1), dim=1)
