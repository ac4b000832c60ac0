# Copyright (c) peclr_mm authors. All rights reserved.
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from peclr_mm.models.losses import (equivariant_nt_xent, nt_xent,
                                    undo_view_geometry)


def _reference(proj1, proj2, theta1, theta2, shift1, shift2, T=0.5):
    """docs/design.md section 3, transcribed point by point with Python
    loops."""
    latents = []
    for proj, theta, shift in ((proj1, theta1, shift1), (proj2, theta2,
                                                         shift2)):
        for i in range(proj.shape[0]):
            p = proj[i] / np.linalg.norm(proj[i])
            pts = p.reshape(-1, 2).copy()
            ext = pts.max(0) - pts.min(0)
            pts[:, 0] += -shift[i, 0] * ext[0]
            pts[:, 1] += -shift[i, 1] * ext[1]
            cx, cy = pts.mean(0)
            a, b = math.cos(math.radians(-theta[i])), math.sin(
                math.radians(-theta[i]))
            out = np.empty_like(pts)
            for k, (x, y) in enumerate(pts):
                out[k, 0] = a * (x - cx) + b * (y - cy) + cx
                out[k, 1] = -b * (x - cx) + a * (y - cy) + cy
            q = out.reshape(-1)
            latents.append(q / np.linalg.norm(q))
    z = np.stack(latents)
    n2 = len(z)
    n = n2 // 2
    total = 0.
    for i in range(n2):
        pos = (i + n) % n2
        sims = [z[i] @ z[k] / T for k in range(n2) if k != i]
        total += -(z[i] @ z[pos] / T - np.log(np.sum(np.exp(sims))))
    return total / n2


def _batch(n=6, d=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=torch.float64),
            torch.randn(n, d, generator=g, dtype=torch.float64),
            torch.empty(n, dtype=torch.float64).uniform_(-45, 45, generator=g),
            torch.empty(n, dtype=torch.float64).uniform_(-45, 45, generator=g),
            torch.empty(n, 2,
                        dtype=torch.float64).uniform_(-0.1, 0.1, generator=g),
            torch.empty(n, 2,
                        dtype=torch.float64).uniform_(-0.1, 0.1, generator=g))


def test_matches_transcription_of_design():
    args = _batch()
    ours = equivariant_nt_xent(*args, temperature=0.5)
    ref = _reference(*[a.numpy() for a in args], T=0.5)
    assert ours.item() == pytest.approx(ref, rel=1e-10)


def test_reduces_to_simclr_of_mmpretrain():
    """No rotation and no shift: SimCLR's NT-Xent, as mmpretrain computes
    it (positives and negatives into ContrastiveHead)."""
    from mmpretrain.models.heads import ContrastiveHead
    from mmpretrain.models.selfsup import SimCLR
    p1, p2 = _batch()[:2]
    n = p1.size(0)
    zero, zero2 = torch.zeros(n), torch.zeros(n, 2)
    ours = equivariant_nt_xent(p1, p2, zero, zero, zero2, zero2, 0.5)
    # mmpretrain interleaves the views: (img0 v1, img0 v2, img1 v1, ...).
    z = F.normalize(torch.stack([p1, p2], 1).reshape(2 * n, -1), dim=1)
    s = z @ z.t()
    mask, pos_idx, neg_mask = SimCLR._create_buffer(n, s.device)
    s = torch.masked_select(s, mask == 1).reshape(s.size(0), -1)
    positive = s[pos_idx].unsqueeze(1)
    negative = torch.masked_select(s, neg_mask == 1).reshape(s.size(0), -1)
    head = ContrastiveHead(
        loss=dict(type='mmpretrain.CrossEntropyLoss'), temperature=0.5)
    ref = head.loss(positive, negative)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-9)


def _move(z, theta, shift):
    """Apply a view's similarity to unit latent points: rotate by theta
    about the centroid, then translate by shift * extent."""
    pts = F.normalize(z, dim=1).view(z.size(0), -1, 2)
    c = pts.mean(1, keepdim=True)
    rad = torch.deg2rad(theta).view(-1, 1)
    a, b = torch.cos(rad), torch.sin(rad)
    dx, dy = (pts - c).unbind(-1)
    pts = torch.stack([a * dx + b * dy, -b * dx + a * dy], -1) + c
    ext = pts.amax(1, keepdim=True) - pts.amin(1, keepdim=True)
    pts = pts + shift.view(-1, 1, 2) * ext
    return pts.flatten(1)


def test_equivariance():
    p1, p2, t1, t2, s1, s2 = _batch(seed=1)
    n = p1.size(0)
    zero, zero2 = torch.zeros(n), torch.zeros(n, 2)
    untouched = equivariant_nt_xent(p1, p2, zero, zero, zero2, zero2)
    moved = equivariant_nt_xent(
        _move(p1, t1, s1), _move(p2, t2, s2), t1, t2, s1, s2)
    assert moved.item() == pytest.approx(untouched.item(), rel=1e-9)
    # SimCLR compares the moved points directly and sees a different loss.
    q1 = F.normalize(_move(p1, t1, s1), dim=1)
    q2 = F.normalize(_move(p2, t2, s2), dim=1)
    simclr = nt_xent(q1, q2, 0.5)[0]
    assert abs(simclr.item() - untouched.item()) > 1e-3


def test_scale_aware_undoes_scale():
    p1, p2, t1, t2, s1, s2 = _batch(seed=2)
    n = p1.size(0)
    scale = torch.empty(n, dtype=torch.float64).uniform_(0.7, 1.3)
    pts = F.normalize(p1, dim=1).view(n, -1, 2)
    c = pts.mean(1, keepdim=True)
    scaled = ((pts - c) * scale.view(-1, 1, 1) + c).flatten(1)
    zero, zero2 = torch.zeros(n), torch.zeros(n, 2)
    base = undo_view_geometry(p1, zero, zero2)
    undone = undo_view_geometry(scaled, zero, zero2, scale)
    torch.testing.assert_close(undone, base)
    assert not torch.allclose(undo_view_geometry(scaled, zero, zero2), base)


def test_gradients_and_errors():
    p1, p2, t1, t2, s1, s2 = _batch()
    p1.requires_grad_(True)
    loss = equivariant_nt_xent(p1, p2, t1, t2, s1, s2)
    loss.backward()
    assert torch.isfinite(p1.grad).all() and p1.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='differ'):
        equivariant_nt_xent(p1, p2[:3], t1, t2, s1, s2)
    with pytest.raises(ValueError, match='even'):
        undo_view_geometry(
            torch.randn(2, 5), torch.zeros(2), torch.zeros(2, 2))
