# Copyright (c) peclr_mm authors. All rights reserved.
from . import affine, checkpoint, io

__all__ = ['affine', 'checkpoint', 'io']
