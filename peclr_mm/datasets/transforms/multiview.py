# Copyright (c) peclr_mm authors. All rights reserved.
"""Multi-view wrapper that keeps each view's geometry."""
import copy
from typing import List, Optional, Sequence

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
        transforms (list): the per-view pipeline, or one pipeline per view
            (a list of lists, e.g. a second view drawn from a similar hand
            by ``LoadSimilarHand``; as mmpretrain's ``MultiView``).
        num_views (int, optional): number of views; None for two with one
            pipeline, or one per pipeline given (a number that differs is
            refused).
    """

    def __init__(self, transforms: Sequence, num_views: Optional[int] = None):
        transforms = list(transforms)
        if transforms and all(
                isinstance(t, (list, tuple)) for t in transforms):
            if num_views not in (None, len(transforms)):
                raise ValueError(f'num_views {num_views} != the '
                                 f'{len(transforms)} per-view pipelines')
            self.pipelines = [Compose(list(t)) for t in transforms]
        else:
            num_views = 2 if num_views is None else num_views
            if num_views < 1:
                raise ValueError(f'num_views must be >= 1, got {num_views}')
            self.pipelines = [Compose(transforms)] * num_views
        self.num_views = len(self.pipelines)

    def transform(self, results: dict) -> dict:
        views: List[dict] = []
        for pipeline in self.pipelines:
            out = pipeline(copy.copy(results))
            if out is None:
                return None
            views.append({k: out[k] for k in VIEW_KEYS if k in out})
        results['views'] = views
        results['img'] = [v['img'] for v in views]
        results['img_shape'] = views[0]['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_views={self.num_views}, '
                f'transforms={self.pipelines})')
