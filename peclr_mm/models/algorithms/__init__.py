# Copyright (c) peclr_mm authors. All rights reserved.
from .peclr import PeCLR

__all__ = ['PeCLR']
