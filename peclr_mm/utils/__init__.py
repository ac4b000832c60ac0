# Copyright (c) peclr_mm authors. All rights reserved.
from . import affine, checkpoint, config, io

__all__ = ['affine', 'checkpoint', 'config', 'io']
