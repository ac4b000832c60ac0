# Copyright (c) peclr_mm authors. All rights reserved.
"""Multi-view wrapper that keeps each view's geometry."""
import copy
from typing import List, Sequence

from mmcv.transforms import BaseTransform, Compose
from mmpose.registry import TRANSFORMS

from ...utils.views import VIEW_KEYS

__all__ = ['MultiViewWithGeometry']


@TRANSFORMS.register_module()
class MultiViewWithGeometry(BaseTransform):
    """Run a pipeline ``num_views`` times on copies of one sample.

    Required Keys:
        - img and whatever the inner pipeline needs

    Modified Keys:
        - img (a list, one image per view)

    Added Keys:
        - views (list of dicts with each view's image and geometry,
          :data:`peclr_mm.utils.views.VIEW_KEYS`; mmpretrain's
          ``MultiView`` keeps only ``img``)

    Args:
        transforms (list): the per-view pipeline.
        num_views (int): number of views.
    """

    def __init__(self, transforms: Sequence[dict], num_views: int = 2):
        if num_views < 1:
            raise ValueError(f'num_views must be >= 1, got {num_views}')
        self.pipeline = Compose(list(transforms))
        self.num_views = num_views

    def transform(self, results: dict) -> dict:
        views: List[dict] = []
        for _ in range(self.num_views):
            out = self.pipeline(copy.copy(results))
            if out is None:
                return None
            views.append({k: out[k] for k in VIEW_KEYS if k in out})
        results['views'] = views
        results['img'] = [v['img'] for v in views]
        results['img_shape'] = views[0]['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_views={self.num_views}, '
                f'transforms={self.pipeline})')
