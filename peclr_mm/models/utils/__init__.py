# Copyright (c) peclr_mm authors. All rights reserved.
from .weight_converters import (RELEASE_JOINT_ORDER, RELEASED_CONFIGS,
                                IncompatibleWeightsError,
                                convert_released_checkpoint,
                                convert_released_model,
                                convert_torchvision_resnet, resnet_depth,
                                resnet_state_dict_shapes)

__all__ = [
    'IncompatibleWeightsError', 'RELEASE_JOINT_ORDER', 'RELEASED_CONFIGS',
    'convert_torchvision_resnet', 'convert_released_model',
    'convert_released_checkpoint', 'resnet_depth', 'resnet_state_dict_shapes'
]
