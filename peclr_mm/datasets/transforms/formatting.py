# Copyright (c) peclr_mm authors. All rights reserved.
"""Packers that carry each view's geometry to the model."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform, to_tensor
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.registry import TRANSFORMS

from ...utils.views import pack_view_geometry

__all__ = ['image_to_tensor', 'PackPeCLRInputs', 'PackHand3DInputs']


def image_to_tensor(img: np.ndarray):
    """An HWC (or HW) image as a CHW tensor, as the packers give it."""
    if img.ndim == 2:
        img = img[..., None]
    return to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackPeCLRInputs(BaseTransform):
    """Pack the views of :class:`MultiViewWithGeometry` for mmpretrain's
    ``SelfSupDataPreprocessor``.

    Required Keys:
        - img (list of views), views

    Added Keys:
        - inputs (list of CHW uint8 tensors, one per view)
        - data_samples (``mmpretrain.structures.DataSample``) whose metainfo
          holds ``view_theta`` (V,), ``view_s`` (V,), ``view_shift`` (V, 2)
          and ``view_warp_mat`` (V, 2, 3) as float32 arrays
          (:func:`peclr_mm.utils.views.pack_view_geometry`), plus
          ``meta_keys``.

    Args:
        meta_keys (Sequence[str]): sample keys copied into the metainfo.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_path', 'img_id', 'sample_id',
                                             'ori_shape')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        from mmpretrain.structures import DataSample
        views = results['views']
        sample = DataSample()
        sample.set_metainfo(
            dict(**pack_view_geometry(views),
                 **{k: results[k]
                    for k in self.meta_keys if k in results}))
        return dict(
            inputs=[image_to_tensor(v['img']) for v in views],
            data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'


@TRANSFORMS.register_module()
class PackHand3DInputs(PackPoseInputs):
    """mmpose's ``PackPoseInputs`` that also carries the 3-D joints and the
    geometry the 2.5-D head needs (``warp_mat``, ``K``, ``K_crop``,
    ``bone_length``).

    Added to ``gt_instances``: ``keypoints_3d`` (1, 21, 3) metres and
    ``transformed_keypoints`` (crop pixels). ``source_img`` (the image
    before the warp, from ``WarpView(keep_source=True)``) is carried in the
    metainfo when present, for the estimator's test-time second crop.
    """

    instance_mapping_table = dict(
        PackPoseInputs.instance_mapping_table,
        keypoints_3d='keypoints_3d',
        transformed_keypoints='transformed_keypoints')

    def __init__(self,
                 meta_keys: Sequence[str] = ('id', 'img_id', 'img_path',
                                             'sample_id', 'version',
                                             'ori_shape', 'img_shape',
                                             'input_size', 'warp_mat', 'K',
                                             'K_crop', 'bone_length', 'theta',
                                             's', 'shift', 'crop_center',
                                             'crop_size', 'dataset_name',
                                             'is_left', 'source_img'),
                 pack_transformed: bool = False):
        super().__init__(
            meta_keys=tuple(meta_keys), pack_transformed=pack_transformed)
