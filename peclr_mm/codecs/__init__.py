# Copyright (c) peclr_mm authors. All rights reserved.
from .hand25d import (Hand25DCodec, backproject, decode_25d, encode_25d,
                      root_depth_closed_form, root_weights)

__all__ = [
    'Hand25DCodec', 'backproject', 'decode_25d', 'encode_25d',
    'root_depth_closed_form', 'root_weights'
]
