# Copyright (c) peclr_mm authors. All rights reserved.
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from mmpretrain.models.selfsup import BaseSelfSupervisor

from ..losses import nt_xent, undo_view_geometry

__all__ = ['PeCLR']


def _stack_meta(data_samples: list, key: str,
                device: torch.device) -> torch.Tensor:
    try:
        values = np.stack([s.metainfo[key] for s in data_samples])
    except KeyError as exc:
        raise KeyError(f'data sample has no {key!r}: pack the views with '
                       'MultiViewWithGeometry + PackPeCLRInputs') from exc
    return torch.from_numpy(values).to(device)


@MODELS.register_module()
class PeCLR(BaseSelfSupervisor):
    """PeCLR: equivariant contrastive pretraining for hand pose.

    Implementation of `Self-Supervised 3D Hand Pose Estimation from
    Monocular RGB via Contrastive Learning
    <https://arxiv.org/abs/2106.05953>`_. Two views of each image are encoded
    and projected to ``D`` numbers, read as ``D / 2`` latent points in 2-D.
    Each view's rotation and translation are undone on those points
    (equivariance), colour is left to the loss (invariance), and NT-Xent
    compares the views with in-batch negatives, gathered across processes.

    Args:
        backbone (dict): encoder config (e.g. mmpose's ``ResNet``).
        neck (dict): projection head (the paper: 2048 -> 512 -> 128,
            ``mmpretrain.NonLinearNeck``).
        temperature (float): NT-Xent temperature.
        equivariant (bool): undo the views' geometry; ``False`` is SimCLR.
        scale_aware (bool): also undo the views' scale (off in the paper).
        gather_distributed (bool): use the views of all processes as
            negatives in distributed training.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 temperature: float = 0.5,
                 equivariant: bool = True,
                 scale_aware: bool = False,
                 gather_distributed: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 **kwargs):
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmpretrain.SelfSupDataPreprocessor')
        super().__init__(
            backbone=backbone,
            neck=neck,
            data_preprocessor=data_preprocessor,
            **kwargs)
        if scale_aware and not equivariant:
            raise ValueError('scale_aware needs equivariant=True')
        self.temperature = temperature
        self.equivariant = equivariant
        self.scale_aware = scale_aware
        self.gather_distributed = gather_distributed

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        """Raw projections (B, D) of a batch of images."""
        return self.neck(self.backbone(inputs))[0]

    def loss(self, inputs: List[torch.Tensor], data_samples: list,
             **kwargs) -> Dict[str, torch.Tensor]:
        """The contrastive loss of a batch of two-view samples."""
        if len(inputs) != 2:
            raise ValueError(f'PeCLR takes two views, got {len(inputs)}')
        n = inputs[0].size(0)
        # the latent geometry and the loss in float32, also when the
        # encoder runs under bfloat16 autocast
        z1, z2 = self.project(torch.cat(inputs, dim=0)).float().split(n)
        if self.equivariant:
            device = z1.device
            theta = _stack_meta(data_samples, 'view_theta', device)
            shift = _stack_meta(data_samples, 'view_shift', device)
            scale = (
                _stack_meta(data_samples, 'view_s', device)
                if self.scale_aware else None)
            q1 = undo_view_geometry(z1, theta[:, 0], shift[:, 0],
                                    None if scale is None else scale[:, 0])
            q2 = undo_view_geometry(z2, theta[:, 1], shift[:, 1],
                                    None if scale is None else scale[:, 1])
        else:
            q1, q2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
        loss, stats = nt_xent(
            q1, q2, self.temperature, gather=self.gather_distributed)
        return dict(loss=loss, **stats)
