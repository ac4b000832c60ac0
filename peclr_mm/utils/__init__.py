# Copyright (c) peclr_mm authors. All rights reserved.
from . import affine, checkpoint

__all__ = ['affine', 'checkpoint']
