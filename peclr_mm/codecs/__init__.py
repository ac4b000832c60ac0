# Copyright (c) peclr_mm authors. All rights reserved.
from .hand25d import (Hand25DCodec, backproject, encode_25d, joints_from_rays,
                      root_depth_closed_form, root_weights)

__all__ = [
    'Hand25DCodec', 'backproject', 'encode_25d', 'joints_from_rays',
    'root_depth_closed_form', 'root_weights'
]
