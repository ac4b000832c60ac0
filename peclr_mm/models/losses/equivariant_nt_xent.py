# Copyright (c) peclr_mm authors. All rights reserved.
"""NT-Xent and PeCLR's equivariant loss (docs/design.md section 3).

`PeCLR <https://arxiv.org/abs/2106.05953>`_ undoes each view's geometric
augmentation on the projection, read as ``m = D / 2`` points in 2-D
(:func:`~peclr_mm.models.utils.latent_geometry.undo_view_geometry`), before
the contrastive loss compares the views. :func:`equivariant_nt_xent_views`
is the loss the model trains with (through ``EquivariantContrastiveHead``):
each view's geometry travels as one :class:`ViewGeometry`.
:func:`equivariant_nt_xent` is the same loss with the flat signature of
docs/design.md section 3, kept for outside checks.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from mmengine.dist import get_rank, get_world_size

from ..utils.latent_geometry import undo_view_geometry

__all__ = [
    'undo_view_geometry', 'nt_xent', 'ViewGeometry',
    'equivariant_nt_xent_views', 'equivariant_nt_xent', 'gather_with_grad',
    'pose_distance_weights'
]


class ViewGeometry(NamedTuple):
    """What the loss knows of one view of a batch of N images.

    All fields default to None: ``ViewGeometry()`` is a view whose
    geometry is not undone (SimCLR's invariant loss).

    Args:
        theta (Tensor, optional): (N,) rotations in degrees.
        shift (Tensor, optional): (N, 2) content translations as fractions
            of the view size (``t / S``); given with ``theta``.
        scale (Tensor, optional): (N,) magnifications; None does not undo
            scale (the paper).
        pose (Tensor, optional): (N, K, 2) the view's 2-D hand pose, for
            SiMHand's pose-distance weights
            (:func:`pose_distance_weights`); None for none.
    """
    theta: Optional[torch.Tensor] = None
    shift: Optional[torch.Tensor] = None
    scale: Optional[torch.Tensor] = None
    pose: Optional[torch.Tensor] = None


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums every process's gradient for the local
    slice (mmpretrain's ``GatherLayer`` keeps only the local one, which is
    right only when every process computes the whole loss)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = [torch.empty_like(x) for _ in range(get_world_size())]
        torch_dist.all_gather(out, x.contiguous())
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        grad = torch.stack(grads)
        torch_dist.all_reduce(grad)
        return grad[get_rank()]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from all processes (rank order) with gradients."""
    if get_world_size() == 1:
        return x
    return torch.cat(_GatherWithGrad.apply(x), dim=0)


def pose_distance_weights(pose1: torch.Tensor, pose2: torch.Tensor
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """SiMHand's linear weights from the 2-D pose distances of a batch
    (Lin et al., ICLR 2025): ``w = (d_max - d) / (d_max - d_min)``, ``d`` the
    mean per-joint distance, so the closest pair weighs 1 and the farthest 0.

    Args:
        pose1, pose2 (Tensor): (N, K, 2) the 2-D poses of views 1 and 2 (in
            one normalisation, e.g. root-centred and scale-normalised).

    Returns:
        tuple: ``pos`` (N,) the weights of the N positive pairs (min-max
        over their N distances) and ``neg`` (2N, 2N) those of every pair of
        the 2N views (min-max over the whole matrix, the diagonal's zero
        distances included), rows and columns ordered ``[views 1; views
        2]``. Where every distance is equal all weights are 1.
    """
    if pose1.shape != pose2.shape or pose1.dim() != 3:
        raise ValueError(f'pose1 {tuple(pose1.shape)} and pose2 '
                         f'{tuple(pose2.shape)} must both be (N, K, 2)')

    def linear(d):
        lo, hi = d.min(), d.max()
        if not hi > lo:
            return torch.ones_like(d)
        return (hi - d) / (hi - lo)

    pos = (pose1 - pose2).norm(dim=-1).mean(-1)
    both = torch.cat([pose1, pose2], dim=0)
    neg = (both[:, None] - both[None]).norm(dim=-1).mean(-1)
    return linear(pos), linear(neg)


def nt_xent(q1: torch.Tensor,
            q2: torch.Tensor,
            temperature: float = 0.5,
            gather: bool = False,
            pos_weights: Optional[torch.Tensor] = None,
            neg_weights: Optional[torch.Tensor] = None
            ) -> Tuple[torch.Tensor, dict]:
    """NT-Xent with in-batch negatives (2N - 2 per anchor).

    ``L = -(1/2N) sum_i log(exp(sim(i, pos(i))/T) / sum_{k != i}
    exp(sim(i, k)/T))``, computed as a cross-entropy.

    With SiMHand's weights (:func:`pose_distance_weights`) each similarity
    is scaled before the exponential: the numerator's by ``pos_weights``,
    every term of the denominator (the positive's too) by ``neg_weights``,
    ``L_i = -w_i sim(i, pos(i)) / T + log sum_{k != i} exp(W_ik sim(i, k) /
    T)``; all-one weights give the plain loss.

    Args:
        q1, q2 (Tensor): (N, D) unit vectors of views 1 and 2 of N images.
        temperature (float): T.
        gather (bool): in distributed runs, compare the local anchors with
            the views of all processes. The returned loss then has the value
            of the global loss and, once DDP averages gradients, the
            gradient of the global loss.
        pos_weights (Tensor, optional): (N,) weights of the positive pairs.
        neg_weights (Tensor, optional): (2N, 2N) weights of every pair,
            ordered ``[views 1; views 2]``; given together with
            ``pos_weights``, in one process (not with ``gather`` across
            several).

    Returns:
        tuple: the loss and detached statistics ``pos_sim``, ``neg_sim``.
    """
    n = q1.size(0)
    world = get_world_size() if gather else 1
    if (pos_weights is None) != (neg_weights is None):
        raise ValueError('give both pos_weights and neg_weights, or neither')
    if pos_weights is not None:
        if world > 1:
            raise NotImplementedError(
                'pose-distance weights across processes (gather=True in a '
                'distributed run) are not supported')
        if pos_weights.shape != (n, ) or neg_weights.shape != (2 * n, 2 * n):
            raise ValueError(f'pos_weights must be ({n},) and neg_weights '
                             f'({2 * n}, {2 * n}), got '
                             f'{tuple(pos_weights.shape)} and '
                             f'{tuple(neg_weights.shape)}')
    local = torch.cat([q1, q2], dim=0)
    if world > 1:
        keys = torch.cat([gather_with_grad(q1), gather_with_grad(q2)], dim=0)
        start = get_rank() * n
        total = keys.size(0) // 2
        rows = torch.cat([
            torch.arange(start, start + n),
            torch.arange(total + start, total + start + n)
        ]).to(q1.device)
    else:
        keys, total = local, n
        rows = torch.arange(2 * n, device=q1.device)
    sim = local @ keys.t()
    pos = (rows + total) % (2 * total)
    weighted = sim if neg_weights is None else sim * neg_weights.to(sim)
    logits = weighted / temperature
    logits = logits.masked_fill(
        F.one_hot(rows, 2 * total).bool(), float('-inf'))
    # Sum over local anchors, divided by the global number of anchors: the
    # per-process parts add up to the global loss.
    if pos_weights is None:
        loss = F.cross_entropy(logits, pos, reduction='sum') / (2 * total)
    else:  # the numerator weighted apart from its denominator term
        numerator = sim.gather(
            1, pos[:, None])[:, 0] * pos_weights.to(sim).repeat(2)
        loss = (torch.logsumexp(logits, 1) -
                numerator / temperature).sum() / (2 * total)
    with torch.no_grad():
        pos_sim = sim.gather(1, pos[:, None]).mean()
        neg_mask = torch.ones_like(sim, dtype=torch.bool)
        anchors = torch.arange(2 * n, device=sim.device)
        neg_mask[anchors, rows] = False
        neg_mask[anchors, pos] = False
        neg_sim = sim[neg_mask].mean()
    if world > 1:
        with torch.no_grad():
            stats = torch.stack([loss, pos_sim, neg_sim])
            torch_dist.all_reduce(stats)
            stats[1:] /= world
        # Value: the global loss; gradient: world x the local part, which
        # DDP's averaging turns into the gradient of the global loss.
        loss = world * loss + (stats[0] - world * loss).detach()
        pos_sim, neg_sim = stats[1], stats[2]
    return loss, dict(pos_sim=pos_sim, neg_sim=neg_sim)


def equivariant_nt_xent_views(proj1: torch.Tensor,
                              proj2: torch.Tensor,
                              view1: ViewGeometry = ViewGeometry(),
                              view2: ViewGeometry = ViewGeometry(),
                              temperature: float = 0.5,
                              gather: bool = False
                              ) -> Tuple[torch.Tensor, dict]:
    """PeCLR's loss for one batch, each view's geometry in one structure
    (docs/design.md section 3).

    Args:
        proj1, proj2 (Tensor): (N, D) raw projections of views 1 and 2.
        view1, view2 (ViewGeometry): the views' geometry. Rotations and
            shifts of both views, or of neither (SimCLR's invariant loss:
            the unit projections compared as they are); scales only with
            them; poses of both views or of neither.
        temperature (float): NT-Xent temperature.
        gather (bool): in distributed runs, use every process's views as
            negatives (:func:`nt_xent`).

    Returns:
        tuple: the scalar loss and the detached statistics ``pos_sim``,
        ``neg_sim``.
    """
    if proj1.shape != proj2.shape:
        raise ValueError(f'proj1 {tuple(proj1.shape)} and proj2 '
                         f'{tuple(proj2.shape)} differ')
    geometry = (view1.theta, view2.theta, view1.shift, view2.shift)
    if all(g is None for g in geometry):
        if view1.scale is not None or view2.scale is not None:
            raise ValueError('undoing scale needs the views\' rotations and '
                             'shifts')
        q1, q2 = F.normalize(proj1, dim=1), F.normalize(proj2, dim=1)
    elif any(g is None for g in geometry):
        raise ValueError('give both views\' theta and shift, or none '
                         '(the invariant loss)')
    else:
        q1 = undo_view_geometry(proj1, view1.theta, view1.shift, view1.scale)
        q2 = undo_view_geometry(proj2, view2.theta, view2.shift, view2.scale)
    weights = {}
    if (view1.pose is None) != (view2.pose is None):
        raise ValueError('give both views\' poses, or none')
    if view1.pose is not None:
        w_pos, w_neg = pose_distance_weights(view1.pose.detach().float(),
                                             view2.pose.detach().float())
        weights = dict(pos_weights=w_pos, neg_weights=w_neg)
    return nt_xent(q1, q2, temperature, gather=gather, **weights)


def equivariant_nt_xent(proj1: torch.Tensor,
                        proj2: torch.Tensor,
                        theta1: Optional[torch.Tensor],
                        theta2: Optional[torch.Tensor],
                        shift1: Optional[torch.Tensor],
                        shift2: Optional[torch.Tensor],
                        temperature: float = 0.5,
                        scale1: Optional[torch.Tensor] = None,
                        scale2: Optional[torch.Tensor] = None) -> torch.Tensor:
    """PeCLR's loss for one batch with the flat signature of
    docs/design.md section 3, which outside checks call: the loss of
    :func:`equivariant_nt_xent_views` (there also the poses and
    ``gather``).

    Args:
        proj1, proj2 (Tensor): (N, D) raw projections of views 1 and 2.
        theta1, theta2 (Tensor): (N,) rotations in degrees; ``None`` (with
            the shifts ``None`` too) compares the unit projections as they
            are, SimCLR's invariant loss.
        shift1, shift2 (Tensor): (N, 2) content translations as fractions of
            the view size (``t / S``).
        temperature (float): NT-Xent temperature.
        scale1, scale2 (Tensor, optional): (N,) magnifications; ``None``
            does not undo scale (the paper).

    Returns:
        Tensor: the scalar loss.
    """
    loss, _ = equivariant_nt_xent_views(proj1, proj2,
                                        ViewGeometry(theta1, shift1, scale1),
                                        ViewGeometry(theta2, shift2, scale2),
                                        temperature)
    return loss
