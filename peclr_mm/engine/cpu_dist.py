# Copyright (c) peclr_mm authors. All rights reserved.
"""Let mmengine's ``pytorch`` launcher start CPU-only processes.

mmengine 0.10.7 calls ``torch.cuda.set_device(local_rank)`` unconditionally,
which raises on a machine without a GPU, so ``torchrun ... --launcher
pytorch`` (and ``tools/dist_train.sh``) could not run with gloo on CPU.
Without CUDA the process group is initialised directly with gloo.
Installed by :mod:`peclr_mm.patches`.
"""
import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as _dist_utils

__all__ = ['init_dist_pytorch_cpu_aware', 'cpu_model_wrapper_cfg']

_original = _dist_utils._init_dist_pytorch


def init_dist_pytorch_cpu_aware(backend, init_backend='torch', **kwargs):
    """mmengine's ``_init_dist_pytorch``, or, without CUDA and with
    ``init_backend='torch'``, ``init_process_group`` directly (rank and
    world size from the launcher's environment), ``'nccl'`` becoming
    ``'gloo'``.

    Args:
        backend (str): backend of ``torch.distributed`` (``'nccl'``,
            ``'gloo'``, ``'mpi'``).
        init_backend (str): how mmengine initialises the group
            (``'torch'``, ``'deepspeed'``, ``'colossalai'``); anything but
            ``'torch'`` is left to mmengine.
        **kwargs: passed to ``init_process_group``.
    """
    if torch.cuda.is_available() or init_backend != 'torch':
        return _original(backend, init_backend=init_backend, **kwargs)
    if backend == 'nccl':  # NCCL needs GPUs; gloo is the CPU equivalent
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, **kwargs)


def cpu_model_wrapper_cfg(cfg) -> None:
    """Let a distributed run wrap the model on CPU-only machines.

    mmengine's runner wraps the model in ``MMDistributedDataParallel`` with
    ``device_ids=[LOCAL_RANK]``, which DDP refuses for a model on CPU. For
    a launched (``launcher != 'none'``) run without CUDA and without a
    ``model_wrapper_cfg`` of its own, set the same wrapper without device
    ids. ``tools/train.py`` and ``tools/test.py`` call this.
    """
    if (cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available()
            or cfg.get('model_wrapper_cfg') is not None):
        return
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,  # else mmengine fills in [LOCAL_RANK]
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
