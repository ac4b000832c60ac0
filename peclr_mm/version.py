# Copyright (c) peclr_mm authors. All rights reserved.
__version__ = '0.1.0'
