# Copyright (c) peclr_mm authors. All rights reserved.
from .atomic_checkpoint import atomic_save_checkpoint
from .lars_adam import LARSAdam

__all__ = ['atomic_save_checkpoint', 'LARSAdam']
