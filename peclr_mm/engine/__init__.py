# Copyright (c) peclr_mm authors. All rights reserved.
from .bf16 import BF16OptimWrapper, ChannelsLastHook, native_bf16
from .cpu_dist import cpu_model_wrapper_cfg, init_dist_pytorch_cpu_aware
from .lars_adam import LARSAdam
from .random_state import RandomStateHook, get_random_states, set_random_states
from .visualization_hook import Hand3dVisualizationHook

__all__ = [
    'BF16OptimWrapper', 'ChannelsLastHook', 'native_bf16',
    'init_dist_pytorch_cpu_aware', 'cpu_model_wrapper_cfg', 'LARSAdam',
    'RandomStateHook', 'get_random_states', 'set_random_states',
    'Hand3dVisualizationHook'
]
