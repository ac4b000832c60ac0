# Copyright (c) peclr_mm authors. All rights reserved.
from .latent_geometry import apply_view_geometry, undo_view_geometry
from .weight_converters import (RELEASE_JOINT_ORDER, RELEASED_CONFIGS,
                                IncompatibleWeightsError,
                                convert_released_checkpoint,
                                convert_released_model,
                                convert_torchvision_resnet, export_backbone,
                                resnet_depth, resnet_state_dict_shapes)

__all__ = [
    'IncompatibleWeightsError', 'RELEASE_JOINT_ORDER', 'RELEASED_CONFIGS',
    'convert_torchvision_resnet', 'convert_released_model',
    'convert_released_checkpoint', 'resnet_depth', 'resnet_state_dict_shapes',
    'export_backbone', 'undo_view_geometry', 'apply_view_geometry'
]
