# Copyright (c) peclr_mm authors. All rights reserved.
"""PeCLR for OpenMMLab: importing this package registers every module into
mmpose's registries (use ``custom_imports=dict(imports=['peclr_mm'])``) and
applies the five replacements in mmengine that :mod:`peclr_mm.patches`
lists and explains (safe checkpoint loading, atomic checkpoint saving,
checkpoint rotation that never loses the last checkpoint, the resume
look-up that survives a damaged ``last_checkpoint``, and the pytorch
launcher on CPU-only machines)."""
from . import (apis, codecs, datasets, engine, evaluation, models, patches,
               utils, visualization, weights)
from .version import __version__

patches.apply()

__all__ = [
    '__version__', 'apis', 'codecs', 'datasets', 'engine', 'evaluation',
    'models', 'utils', 'patches', 'visualization', 'weights'
]
