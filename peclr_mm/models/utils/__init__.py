# Copyright (c) peclr_mm authors. All rights reserved.
from .weight_converters import (IncompatibleWeightsError,
                                convert_torchvision_resnet,
                                resnet_state_dict_shapes)

__all__ = [
    'IncompatibleWeightsError', 'convert_torchvision_resnet',
    'resnet_state_dict_shapes'
]
