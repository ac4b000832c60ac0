# Copyright (c) peclr_mm authors. All rights reserved.
from .freihand3d import (FreiHand3DDataset, load_freihand_annotations,
                         project)
from .transforms import *  # noqa: F401,F403

__all__ = ['FreiHand3DDataset', 'load_freihand_annotations', 'project']
