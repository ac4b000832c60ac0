# Copyright (c) peclr_mm authors. All rights reserved.
from .freihand3d import (FreiHand3DDataset, load_freihand_annotations,
                         peclr_split, project, select_subset)
from .samplers import BalancedSourceSampler
from .similar_hands import (load_similar_hands, mine_similar_hands,
                            pose_descriptor, write_similar_hands)
from .transforms import *  # noqa: F401,F403
from .unlabeled import HandImageFolder, YouTube3DHandsDataset

__all__ = [
    'FreiHand3DDataset', 'load_freihand_annotations', 'project', 'peclr_split',
    'select_subset', 'HandImageFolder', 'YouTube3DHandsDataset',
    'BalancedSourceSampler', 'pose_descriptor', 'mine_similar_hands',
    'write_similar_hands', 'load_similar_hands'
]
