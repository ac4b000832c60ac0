# Copyright (c) peclr_mm authors. All rights reserved.
"""PeCLR for OpenMMLab: importing this package registers every module into
mmpose's registries (use ``custom_imports=dict(imports=['peclr_mm'])``) and
installs the safe checkpoint loader."""
from . import apis, codecs, datasets, engine, evaluation, models, utils
from .version import __version__

__all__ = [
    '__version__', 'apis', 'codecs', 'datasets', 'engine', 'evaluation',
    'models', 'utils'
]
