# Copyright (c) peclr_mm authors. All rights reserved.
"""Let mmengine's ``pytorch`` launcher start CPU-only processes.

mmengine 0.10.7 calls ``torch.cuda.set_device(local_rank)`` unconditionally,
which raises on a machine without a GPU, so ``torchrun ... --launcher
pytorch`` (and ``tools/dist_train.sh``) could not run with gloo on CPU.
Without CUDA the process group is initialised directly with gloo.
"""
import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as _dist_utils

__all__ = ['init_dist_pytorch_cpu_aware']

_original = _dist_utils._init_dist_pytorch


def init_dist_pytorch_cpu_aware(backend, init_backend='torch', **kwargs):
    if torch.cuda.is_available() or init_backend != 'torch':
        return _original(backend, init_backend=init_backend, **kwargs)
    if backend == 'nccl':  # NCCL needs GPUs; gloo is the CPU equivalent
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, **kwargs)


_dist_utils._init_dist_pytorch = init_dist_pytorch_cpu_aware
