# Copyright (c) peclr_mm authors. All rights reserved.
"""Adam with LARS layer-wise trust ratios, as PeCLR trained.

mmpretrain's ``LARS`` wraps SGD; PeCLR wrapped Adam (pl_bolts'
``LARSWrapper``), so its own optimiser lives here.
"""
from typing import Iterable

import torch
from mmpose.registry import OPTIMIZERS
from torch.optim import Adam

__all__ = ['LARSAdam']


@OPTIMIZERS.register_module()
class LARSAdam(Adam):
    """Adam whose gradients are first rescaled layer by layer (LARS).

    For every parameter of more than one dimension, with ``g`` its
    gradient, the trust ratio ``eta * ||w|| / (||g|| + wd * ||w|| + eps)``
    is computed from the gradient as it is, then weight decay ``wd * w`` is
    added and the sum is multiplied by the ratio, before Adam's step: the
    order of pl_bolts' ``LARSWrapper``, which PeCLR trained with (a zero
    ``||w||`` or ``||g||`` leaves the decayed gradient unscaled). Biases
    and normalisation weights (1-D) are excluded from the adaptation and,
    as there, get no weight decay; Adam applies none itself.

    Args:
        params: parameters or parameter groups.
        lr (float): learning rate.
        weight_decay (float): L2 weight decay folded into the gradient.
        eta (float): LARS trust coefficient.
        eps_lars (float): guards the trust ratio's denominator.
        **kwargs: other ``torch.optim.Adam`` arguments.
    """

    def __init__(self,
                 params: Iterable,
                 lr: float = 1e-3,
                 weight_decay: float = 0.,
                 eta: float = 0.02,
                 eps_lars: float = 1e-8,
                 **kwargs):
        if eta <= 0:
            raise ValueError(f'eta must be positive, got {eta}')
        super().__init__(params, lr=lr, weight_decay=0., **kwargs)
        for group in self.param_groups:
            group.setdefault('lars_weight_decay', weight_decay)
            group.setdefault('eta', eta)
            group.setdefault('eps_lars', eps_lars)

    def add_param_group(self, param_group: dict) -> None:
        # mmengine's paramwise_cfg passes per-group weight_decay; move it
        # into the LARS step so that Adam itself adds none.
        if 'weight_decay' in param_group:
            param_group['lars_weight_decay'] = param_group['weight_decay']
        param_group['weight_decay'] = 0.
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            wd = group.get('lars_weight_decay', 0.)
            for p in group['params']:
                if p.grad is None or p.ndim <= 1:
                    continue
                p_norm = torch.linalg.vector_norm(p)
                g_norm = torch.linalg.vector_norm(p.grad)
                ratio = group['eta'] * p_norm / (
                    g_norm + wd * p_norm + group['eps_lars'])
                ratio = torch.where((p_norm > 0) & (g_norm > 0), ratio,
                                    torch.ones_like(ratio))
                if wd:
                    p.grad.add_(p, alpha=wd)
                p.grad.mul_(ratio)
        super().step()
        return loss
