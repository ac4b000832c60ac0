# Copyright (c) peclr_mm authors. All rights reserved.
"""Top-down 3-D hand pose estimator that maps predictions back through the
crop's full affine warp."""
from itertools import zip_longest
from typing import Optional

import numpy as np
import torch
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import InstanceList, PixelDataList, SampleList

from peclr_mm.utils.affine import invert, transform_points


@MODELS.register_module()
class TopdownHand3DEstimator(TopdownPoseEstimator):
    """:class:`TopdownPoseEstimator` for camera-frame 3-D hand pose.

    mmpose's ``add_pred_to_datasample`` maps keypoints back to the image from
    ``input_center``/``input_scale`` only, ignoring a rotated crop; here the
    crop-pixel ``keypoints`` are mapped with the inverse of each sample's
    ``warp_mat`` (rotation included) and the head's camera-frame
    ``keypoints_3d`` (metres) are kept in ``pred_instances``.

    Required metainfo per data sample: ``warp_mat`` (2x3, image pixels to
    crop pixels). Arguments are those of :class:`TopdownPoseEstimator`.
    """

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList,
                               batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """Store predictions in ``pred_instances`` of each data sample.

        Args:
            batch_pred_instances: per sample ``keypoints`` (1, K, 2) crop
                pixels, ``keypoints_3d`` (1, K, 3) camera frame in metres and
                ``keypoint_scores`` (1, K).
            batch_pred_fields: optional predicted fields (e.g. heatmaps).
            batch_data_samples: the input data samples.

        Returns:
            list[PoseDataSample]: the data samples with ``pred_instances``
            holding ``keypoints`` in original-image pixels,
            ``keypoints_3d``, ``keypoint_scores``, ``keypoints_visible`` and,
            when the ground truth has them, ``bboxes`` and ``bbox_scores``.
        """
        if len(batch_pred_instances) != len(batch_data_samples):
            raise ValueError(f'{len(batch_pred_instances)} predictions for '
                             f'{len(batch_data_samples)} data samples')
        for pred, fields, sample in zip_longest(batch_pred_instances,
                                                batch_pred_fields or [],
                                                batch_data_samples):
            keypoints = pred.keypoints
            if isinstance(keypoints, torch.Tensor):
                keypoints = keypoints.detach().cpu().numpy()
            inv = invert(sample.metainfo['warp_mat'])
            pred.keypoints = transform_points(keypoints,
                                              inv).astype(np.float32)
            if 'keypoints_visible' not in pred:
                pred.keypoints_visible = pred.keypoint_scores
            gt = sample.get('gt_instances')
            if gt is not None and 'bboxes' in gt:
                pred.bboxes = gt.bboxes
                if 'bbox_scores' in gt:
                    pred.bbox_scores = gt.bbox_scores
            sample.pred_instances = pred
            if fields is not None:
                sample.pred_fields = fields
        return batch_data_samples
