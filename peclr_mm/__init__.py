# Copyright (c) peclr_mm authors. All rights reserved.
"""PeCLR for OpenMMLab: importing this package registers every module into
mmpose's registries (use ``custom_imports=dict(imports=['peclr_mm'])``)."""
from .utils import checkpoint  # noqa: F401 (safe checkpoint loading)
from . import (apis, codecs, datasets, engine, evaluation,  # noqa: F401,E402
               models)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
