# Copyright (c) peclr_mm authors. All rights reserved.
from typing import Dict, List, Optional

import torch
from mmpose.registry import MODELS
from mmpretrain.models.selfsup import BaseSelfSupervisor

__all__ = ['PeCLR']


@MODELS.register_module()
class PeCLR(BaseSelfSupervisor):
    """PeCLR: equivariant contrastive pretraining for hand pose.

    Implementation of `Self-Supervised 3D Hand Pose Estimation from
    Monocular RGB via Contrastive Learning
    <https://arxiv.org/abs/2106.05953>`_, built as mmpretrain builds SimCLR:
    backbone + neck + head. Two views of each image are encoded and
    projected to ``D`` numbers, read as ``D / 2`` latent points in 2-D; the
    head (:class:`~peclr_mm.models.heads.EquivariantContrastiveHead`) undoes
    each view's rotation and translation on those points (equivariance),
    leaves colour to the loss (invariance) and compares the views with
    NT-Xent over in-batch negatives, gathered across processes.

    Args:
        backbone (dict): encoder config (e.g. mmpose's ``ResNet``).
        neck (dict): projection head (the paper: 2048 -> 512 -> 128,
            ``mmpretrain.NonLinearNeck``).
        head (dict): the loss head; defaults to
            ``EquivariantContrastiveHead`` at temperature 0.5 (the paper),
            ``equivariant=False`` is SimCLR.
        data_preprocessor (dict, optional): defaults to mmpretrain's
            ``SelfSupDataPreprocessor``.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 **kwargs):
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmpretrain.SelfSupDataPreprocessor')
        if head is None:
            head = dict(type='EquivariantContrastiveHead')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            **kwargs)

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        """Raw projections (B, D) of a batch of images."""
        return self.neck(self.backbone(inputs))[0]

    def loss(self, inputs: List[torch.Tensor], data_samples: list,
             **kwargs) -> Dict[str, torch.Tensor]:
        """The contrastive loss of a batch of two-view samples."""
        if len(inputs) != 2:
            raise ValueError(f'PeCLR takes two views, got {len(inputs)}')
        n = inputs[0].size(0)
        z1, z2 = self.project(torch.cat(inputs, dim=0)).split(n)
        return self.head.loss(z1, z2, data_samples)
