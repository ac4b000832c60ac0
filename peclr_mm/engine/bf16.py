# Copyright (c) peclr_mm authors. All rights reserved.
"""bfloat16 autocast and channels-last memory on any device, CPUs included.

mmengine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU/MUSA device, so CPU
training cannot use it, although CPUs with AVX-512 BF16 or AMX run
convolutions much faster in bfloat16 and in channels-last layout
(``tools/benchmarks/README.md`` has the measured speed-ups).
"""
from contextlib import contextmanager
from functools import lru_cache
from typing import FrozenSet, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from mmpose.registry import HOOKS, OPTIM_WRAPPERS
from torch import nn

__all__ = ['BF16OptimWrapper', 'ChannelsLastHook', 'native_bf16']

#: CPU flags whose instructions compute in bfloat16; without them oneDNN
#: emulates it (a ResNet-18 step at 64 px, batch 32: 10.6 s in bfloat16
#: against 0.53 s in float32 on an AVX2-only EPYC, measured 2026-12-01;
#: the CPU pretraining step, 2 x 32 views of 64 px: 0.63 s against 0.23 s
#: on an AVX-512 Xeon without BF16, 2026-12-02).
BF16_CPU_FLAGS = frozenset({'avx512_bf16', 'amx_bf16'})


@lru_cache(None)
def _cpu_flags() -> Optional[FrozenSet[str]]:
    """The CPU's feature flags from ``/proc/cpuinfo``; None elsewhere."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        return None
    return None


def native_bf16(device_type: str) -> bool:
    """Whether bfloat16 runs natively on this device type: GPUs yes; CPUs
    when they have AVX-512 BF16 or AMX (read from ``/proc/cpuinfo``, else
    from torch's detected CPU capability)."""
    if device_type != 'cpu':
        return True
    flags = _cpu_flags()
    if flags is not None:
        return bool(BF16_CPU_FLAGS & flags)
    return torch.backends.cpu.get_cpu_capability() not in ('DEFAULT', 'AVX2')


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
    gradients and optimizer state stay float32.

    On a CPU without native bfloat16 (no AVX-512 BF16 or AMX) the forward
    pass runs in float32 instead, with a warning, unless ``native_only`` is
    False: emulated bfloat16 is 3x to 20x slower there
    (:data:`BF16_CPU_FLAGS`).

    Args:
        native_only: use bfloat16 only where it runs natively.
        **kwargs: ``OptimWrapper``'s arguments.
    """

    def __init__(self, *args, native_only: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.native_only = bool(native_only)
        self._warned = False

    @contextmanager
    def optim_context(self, model: nn.Module):
        device = _device_type(model)
        enabled = not self.native_only or native_bf16(device)
        if not enabled and not self._warned:
            print_log(
                'BF16OptimWrapper: this CPU has no native bfloat16 (AVX-512 '
                'BF16 or AMX); training in float32, which is faster here '
                '(native_only=False forces bfloat16)',
                logger='current',
                level=30)
            self._warned = True
        with super().optim_context(model), autocast(
                device_type=device, dtype=torch.bfloat16, enabled=enabled):
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
