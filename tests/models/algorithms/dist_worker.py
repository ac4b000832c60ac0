# Copyright (c) peclr_mm authors. All rights reserved.
"""Run by tests/models/algorithms/test_peclr.py, 1 process or 2 (torchrun).

Each process takes its share of one fixed global batch, computes PeCLR's
loss through MMDistributedDataParallel and writes the loss and the averaged
gradients (rank 0) to ``argv[1]``.
"""
import os
import sys

import torch
from mmengine.dist import get_rank, get_world_size, init_dist
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import peclr_mm  # noqa: F401

N = 8


def tiny_peclr(**kwargs):
    """A ResNet-18 PeCLR with a small projection, seeded."""
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='PeCLR',
            backbone=dict(type='ResNet', depth=18),
            neck=dict(
                type='mmpretrain.NonLinearNeck',
                in_channels=512,
                hid_channels=64,
                out_channels=32,
                num_layers=2,
                with_avg_pool=True,
                norm_cfg=dict(type='BN1d')),
            **kwargs))


def build():
    # BatchNorm statistics are per process unless SyncBN is used; compare
    # the rest of the step with running statistics.
    return tiny_peclr().eval()


def batch():
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(1)
    views = [
        torch.randint(0, 255, (N, 3, 32, 32), generator=g) for _ in range(2)
    ]
    samples = []
    for _ in range(N):
        s = DataSample()
        s.set_metainfo(
            dict(
                view_theta=(torch.rand(2, generator=g) * 90 - 45).numpy(),
                view_shift=(torch.rand(2, 2, generator=g) * 0.2 - 0.1).numpy(),
                view_s=torch.ones(2).numpy()))
        samples.append(s)
    return views, samples


def main(out):
    if 'RANK' in os.environ:
        init_dist('pytorch', backend='gloo')
    init_default_scope('mmpose')
    model = build()
    views, samples = batch()
    world, rank = get_world_size(), get_rank()
    share = N // world
    part = slice(rank * share, (rank + 1) * share)
    data = model.data_preprocessor(
        dict(inputs=[v[part] for v in views], data_samples=samples[part]))
    if world > 1:
        model = MMDistributedDataParallel(model)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    if rank == 0:
        net = getattr(model, 'module', model)
        torch.save(
            dict(
                loss=losses['loss'].detach(),
                pos_sim=losses['pos_sim'],
                grads={
                    k: p.grad.clone()
                    for k, p in net.named_parameters()
                }), out)


if __name__ == '__main__':
    main(sys.argv[1])
