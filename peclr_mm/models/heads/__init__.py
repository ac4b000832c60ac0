# Copyright (c) peclr_mm authors. All rights reserved.
from .hand25d_head import Hand25DHead

__all__ = ['Hand25DHead']
