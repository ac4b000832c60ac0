# Copyright (c) peclr_mm authors. All rights reserved.
"""LARSAdam's step against a direct computation of pl_bolts' LARSWrapper
around Adam."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from peclr_mm.engine import LARSAdam


def _reference_step(params, grads, states, lr, wd, eta, eps, t):
    """One step of LARS (pl_bolts' order) then Adam, written out."""
    beta1, beta2, adam_eps = 0.9, 0.999, 1e-8
    out = []
    for p, g, (m, v) in zip(params, grads, states):
        g = g.clone()
        if p.ndim > 1:
            p_norm, g_norm = p.norm(), g.norm()
            ratio = eta * p_norm / (g_norm + wd * p_norm + eps)
            g = (g + wd * p) * ratio
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        out.append(p - lr * m_hat / (v_hat.sqrt() + adam_eps))
    return out


@pytest.mark.parametrize('wd', [0., 1e-2])
def test_step_matches_the_direct_computation(wd):
    torch.manual_seed(0)
    weight = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, requires_grad=True)
    opt = LARSAdam([weight, bias], lr=1e-2, weight_decay=wd, eta=0.02)
    states = [(torch.zeros_like(p), torch.zeros_like(p))
              for p in (weight, bias)]
    params = [weight.detach().clone(), bias.detach().clone()]
    for t in (1, 2, 3):
        grads = [torch.randn_like(p) * 10**t for p in params]
        weight.grad, bias.grad = grads[0].clone(), grads[1].clone()
        opt.step()
        params = _reference_step(params, grads, states, 1e-2, wd, 0.02, 1e-8,
                                 t)
        torch.testing.assert_close(weight.detach(), params[0])
        torch.testing.assert_close(bias.detach(), params[1])


def test_paramwise_weight_decay_goes_into_the_lars_step():
    """mmengine's optimizer constructor passes per-group weight decay;
    Adam itself must then apply none."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='LARSAdam', lr=1e-3, weight_decay=1e-6),
            paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.)))
    groups = wrapper.optimizer.param_groups
    assert all(g['weight_decay'] == 0. for g in groups)
    decay = {
        tuple(p.shape): g['lars_weight_decay']
        for g in groups
        for p in g['params']
    }
    assert decay[(4, 3)] == 1e-6 and decay[(4, )] == 0.
    with pytest.raises(ValueError, match='eta'):
        LARSAdam(model.parameters(), eta=0.)
