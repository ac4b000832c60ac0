# Copyright (c) peclr_mm authors. All rights reserved.
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from peclr_mm.models.losses import (ViewGeometry, equivariant_nt_xent,
                                    equivariant_nt_xent_views, nt_xent,
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


def test_pose_distance_weights_on_planted_distances():
    """Equal poses weigh 1, the farthest pair 0, the rest linearly between
    (a direct computation of (d_max - d) / (d_max - d_min))."""
    from peclr_mm.models.losses import pose_distance_weights
    base = torch.zeros(3, 21, 2)
    shift = torch.tensor([0., 1., 3.])  # per-joint distances of the pairs
    pose1 = base
    pose2 = base + torch.stack([shift, torch.zeros(3)], 1)[:, None]
    w_pos, w_neg = pose_distance_weights(pose1, pose2)
    torch.testing.assert_close(w_pos, torch.tensor([1., 2 / 3, 0.]))
    both = torch.cat([pose1, pose2])
    d = torch.cdist(both[:, 0], both[:, 0])  # every joint moved alike
    torch.testing.assert_close(w_neg, (d.max() - d) / (d.max() - d.min()))
    assert (w_neg.diagonal() == 1).all() and w_neg.min() == 0
    # one distance everywhere: all weights 1
    w_pos, w_neg = pose_distance_weights(base, base)
    assert (w_pos == 1).all() and (w_neg == 1).all()
    with pytest.raises(ValueError, match='pose1'):
        pose_distance_weights(base, base[:2])


def test_weighted_nt_xent_matches_a_direct_computation():
    from peclr_mm.models.losses import nt_xent, pose_distance_weights
    torch.manual_seed(0)
    n = 5
    q1 = F.normalize(torch.randn(n, 8), dim=1)
    q2 = F.normalize(torch.randn(n, 8), dim=1)
    pose1, pose2 = torch.randn(n, 21, 2), torch.randn(n, 21, 2)
    w_pos, w_neg = pose_distance_weights(pose1, pose2)
    loss, _ = nt_xent(q1, q2, 0.5, pos_weights=w_pos, neg_weights=w_neg)
    q = torch.cat([q1, q2])
    terms = []
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        num = torch.exp(w_pos[i % n] * (q[i] @ q[p]) / 0.5)
        den = sum(
            torch.exp(w_neg[i, k] * (q[i] @ q[k]) / 0.5) for k in range(2 * n)
            if k != i)
        terms.append(-torch.log(num / den))
    torch.testing.assert_close(loss, torch.stack(terms).mean())
    # all-one weights: the plain loss
    plain, _ = nt_xent(q1, q2, 0.5)
    ones, _ = nt_xent(
        q1,
        q2,
        0.5,
        pos_weights=torch.ones(n),
        neg_weights=torch.ones(2 * n, 2 * n))
    torch.testing.assert_close(ones, plain)
    with pytest.raises(ValueError, match='both'):
        nt_xent(q1, q2, 0.5, pos_weights=w_pos)


def test_equivariant_loss_with_poses_falls_on_a_tiny_problem():
    """Weighted by pose distance and under the equivariant step, a linear
    projection of fixed features learns: the loss falls (at temperature 0.1:
    at 0.5 the weights in [0, 1] leave the logits little room)."""
    torch.manual_seed(1)
    n, d = 16, 32
    x1, x2 = torch.randn(n, 64), torch.randn(n, 64)
    x2 = x1 + 0.3 * x2
    pose1 = torch.randn(n, 21, 2)
    pose2 = pose1 + 0.05 * torch.randn(n, 21, 2)
    theta = torch.zeros(n)
    shift = torch.zeros(n, 2)
    proj = torch.nn.Linear(64, d)
    opt = torch.optim.Adam(proj.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        loss, _ = equivariant_nt_xent_views(
            proj(x1),
            proj(x2),
            ViewGeometry(theta, shift, pose=pose1),
            ViewGeometry(theta, shift, pose=pose2),
            temperature=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], (losses[0], losses[-1])


def test_flat_and_structured_forms_agree():
    """The public flat signature of docs/design.md (exactly its nine
    parameters) gives the loss of the structured form: equivariant, scale
    aware and invariant alike; the structured form also returns the
    statistics."""
    import inspect
    assert list(inspect.signature(equivariant_nt_xent).parameters) == [
        'proj1', 'proj2', 'theta1', 'theta2', 'shift1', 'shift2',
        'temperature', 'scale1', 'scale2'
    ]
    assert len(inspect.signature(equivariant_nt_xent_views).parameters) <= 6
    p1, p2, t1, t2, s1, s2 = _batch(seed=3)
    n = p1.size(0)
    sc1 = torch.empty(n, dtype=torch.float64).uniform_(0.7, 1.3)
    sc2 = torch.empty(n, dtype=torch.float64).uniform_(0.7, 1.3)
    equivariant = (ViewGeometry(t1, s1), ViewGeometry(t2, s2), 0.5)
    scaled = (ViewGeometry(t1, s1, sc1), ViewGeometry(t2, s2, sc2), 0.2)
    invariant = (ViewGeometry(), ViewGeometry(), 0.5)
    cases = [
        ((t1, t2, s1, s2, 0.5), equivariant),
        ((t1, t2, s1, s2, 0.2, sc1, sc2), scaled),
        ((None, None, None, None, 0.5), invariant),
    ]
    for flat, views in cases:
        loss, stats = equivariant_nt_xent_views(p1, p2, *views)
        assert set(stats) == {'pos_sim', 'neg_sim'}
        torch.testing.assert_close(
            equivariant_nt_xent(p1, p2, *flat), loss, rtol=0, atol=0)
    # the defaults are the invariant loss at the paper's temperature
    torch.testing.assert_close(
        equivariant_nt_xent_views(p1, p2)[0],
        equivariant_nt_xent(p1, p2, None, None, None, None))


def test_structured_form_refuses_half_a_geometry():
    p1, p2, t1, t2, s1, s2 = _batch()
    pose = torch.zeros(p1.size(0), 21, 2)
    with pytest.raises(ValueError, match='or none'):
        equivariant_nt_xent_views(p1, p2, ViewGeometry(t1, s1), ViewGeometry())
    with pytest.raises(ValueError, match='scale'):
        equivariant_nt_xent_views(p1, p2, ViewGeometry(scale=t1),
                                  ViewGeometry())
    with pytest.raises(ValueError, match='poses'):
        equivariant_nt_xent_views(p1, p2, ViewGeometry(t1, s1, pose=pose),
                                  ViewGeometry(t2, s2))
