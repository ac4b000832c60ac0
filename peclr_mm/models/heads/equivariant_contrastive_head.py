# Copyright (c) peclr_mm authors. All rights reserved.
"""PeCLR's head: the counterpart of mmpretrain's ``ContrastiveHead`` that
undoes each view's geometry before NT-Xent (docs/design.md section 3)."""
from typing import Dict, Sequence

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from ...utils.views import stack_view_geometry
from ..losses import ViewGeometry, equivariant_nt_xent_views

__all__ = ['EquivariantContrastiveHead']

#: The samples' per-view keys (:mod:`peclr_mm.utils.views`) and the
#: :class:`ViewGeometry` fields they fill.
_VIEW_FIELDS = dict(theta='theta', shift='shift', s='scale', pose_2d='pose')


def _view(geo: Dict[str, torch.Tensor], v: int) -> ViewGeometry:
    """View ``v`` of a batch's stacked (B, V, ...) per-view keys."""
    return ViewGeometry(**{_VIEW_FIELDS[k]: g[:, v] for k, g in geo.items()})


@MODELS.register_module()
class EquivariantContrastiveHead(BaseModule):
    """NT-Xent of two views' projections, with each view's rotation and
    translation undone on the latent points (equivariance) or not at all
    (``equivariant=False``: SimCLR).

    The views' geometry comes from the data samples' metainfo
    (``view_theta``, ``view_shift``, ``view_s``; see
    :mod:`peclr_mm.utils.views`) as one
    :class:`~peclr_mm.models.losses.ViewGeometry` per view; the loss is
    :func:`~peclr_mm.models.losses.equivariant_nt_xent_views`, in float32
    also when the encoder runs under bfloat16 autocast.

    Args:
        temperature (float): NT-Xent temperature. Defaults to 0.5.
        equivariant (bool): undo the views' geometry. Defaults to True.
        scale_aware (bool): also undo the views' scale (off in the paper).
        gather_distributed (bool): use the views of all processes as
            negatives in distributed training. Defaults to True.
        pose_weighting (str, optional): ``'linear'`` weights the
            similarities by the views' 2-D pose distances (SiMHand, the
            samples' ``view_pose_2d`` from ``LoadSimilarHand``;
            :func:`~peclr_mm.models.losses.pose_distance_weights`); None
            (the default) does not.
        init_cfg (dict, optional): mmengine's initialisation config.
    """

    def __init__(self,
                 temperature: float = 0.5,
                 equivariant: bool = True,
                 scale_aware: bool = False,
                 gather_distributed: bool = True,
                 pose_weighting=None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if scale_aware and not equivariant:
            raise ValueError('scale_aware needs equivariant=True')
        if pose_weighting not in (None, 'linear'):
            raise ValueError("pose_weighting must be None or 'linear', got "
                             f'{pose_weighting!r}')
        self.pose_weighting = pose_weighting
        self.temperature = temperature
        self.equivariant = equivariant
        self.scale_aware = scale_aware
        self.gather_distributed = gather_distributed

    def loss(self, proj1: torch.Tensor, proj2: torch.Tensor,
             data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """The loss of views 1 and 2 of a batch.

        Args:
            proj1, proj2 (Tensor): (N, D) raw projections of the views.
            data_samples (list): the N samples, each holding its views'
                geometry.

        Returns:
            dict: ``loss`` and the detached ``pos_sim``, ``neg_sim``.
        """
        proj1, proj2 = proj1.float(), proj2.float()
        keys = ()  # no geometry: the invariant loss
        if self.equivariant:
            keys += ('theta', 'shift') + (('s', ) if self.scale_aware else ())
        if self.pose_weighting:
            keys += ('pose_2d', )
        geo = stack_view_geometry(data_samples, keys, proj1.device)
        view1, view2 = _view(geo, 0), _view(geo, 1)
        loss, stats = equivariant_nt_xent_views(proj1, proj2, view1, view2,
                                                self.temperature,
                                                self.gather_distributed)
        return dict(loss=loss, **stats)
