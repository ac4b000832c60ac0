# Copyright (c) peclr_mm authors. All rights reserved.
"""bfloat16 autocast and channels-last memory on any device, CPUs included.

mmengine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU/MUSA device, so CPU
training cannot use it, although CPUs with AVX-512 BF16 or AMX run
convolutions much faster in bfloat16 and in channels-last layout
(``tools/benchmarks/README.md`` has the measured speed-ups).
"""
from contextlib import contextmanager

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from mmpose.registry import HOOKS, OPTIM_WRAPPERS
from torch import nn

__all__ = ['BF16OptimWrapper', 'ChannelsLastHook']


def _device_type(model: nn.Module) -> str:
    for param in model.parameters():
        return param.device.type
    return 'cpu'


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward pass runs under bfloat16 autocast
    on the model's own device (CPU or GPU).

    bfloat16 has float32's exponent range, so unlike float16 it needs no
    loss scaling: backward and step are ``OptimWrapper``'s. Weights,
    gradients and optimizer state stay float32. The arguments are those of
    ``OptimWrapper``.
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), autocast(
                device_type=_device_type(model), dtype=torch.bfloat16):
            yield


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Store the model's 4-D weights channels-last before it runs.

    Convolutions then produce (and take) channels-last activations, which
    oneDNN on CPUs and cuDNN's tensor-core kernels run faster; the model's
    numbers do not change.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)
