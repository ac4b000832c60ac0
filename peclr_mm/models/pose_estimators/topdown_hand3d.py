# Copyright (c) peclr_mm authors. All rights reserved.
"""Top-down 3-D hand pose estimator that maps predictions back through the
crop's full affine warp."""
from itertools import zip_longest
from typing import Optional

import numpy as np
import torch
from mmpose.datasets.transforms.formatting import image_to_tensor
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import InstanceList, PixelDataList, SampleList

from ...utils.affine import (crop_intrinsics, invert, square_box,
                             transform_points)
from ...utils.crop import box_from_points, canonical_crop, warp_image
from ...weights.compare import model_mismatch


def _refuse_foreign_weights(module, state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: weights loaded into the whole estimator
    must be its own (mmengine loads others with warnings only)."""
    if prefix:  # the estimator inside a larger model: that model decides
        return
    message = model_mismatch(state_dict, module)
    if message:
        raise ValueError(f'checkpoint {message}')


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

    ``test_cfg['recrop']`` (a dict) predicts twice, as the released PeCLR
    test script does: the first prediction's 2-D keypoints (the head's
    ``keypoints_regressed`` where it gives them) give a box
    (their extent in crop pixels, truncated to integers with
    ``integer_box=True``, mapped back to the image), the square of
    ``padding`` times its longer side about its centre is cropped from the
    source image (``WarpView(keep_source=True)``) and the model predicts
    again with that crop's ``warp_mat`` and ``K_crop``. Keys: ``padding``
    (default ``1 / 0.7``, the released script's box filling 0.7 of the
    view), ``integer_box`` (default False), ``interpolation`` and
    ``border_value`` of the second crop (default ``'bilinear'`` and 0, as
    ``WarpView``'s).

    Loading weights into the whole estimator (``load_from``, ``--resume``,
    mmpose's and mmengine's own test tools) refuses a state dict that does
    not fit it key for key and shape for shape, e.g. a pretraining
    checkpoint, instead of mmengine's warnings over random weights; parts
    (``init_cfg`` of the backbone) load as before.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_load_state_dict_pre_hook(_refuse_foreign_weights)

    def predict(self, inputs: torch.Tensor,
                data_samples: SampleList) -> SampleList:
        """Predict the 3-D pose, with a second pass on a re-crop when
        ``test_cfg['recrop']`` is set (see the class docstring)."""
        recrop = self.test_cfg.get('recrop')
        if recrop:
            feats = self.extract_feat(inputs)
            first = self.head.predict(feats, data_samples, self.test_cfg)
            if isinstance(first, tuple):
                first = first[0]
            inputs = self.recrop_inputs(first, data_samples, **recrop)
        return super().predict(inputs, data_samples)

    def recrop_inputs(self,
                      preds: InstanceList,
                      data_samples: SampleList,
                      padding: float = 1 / 0.7,
                      integer_box: bool = False,
                      interpolation: str = 'bilinear',
                      border_value: int = 0) -> torch.Tensor:
        """Crop each source image around its predicted 2-D keypoints,
        update the samples' ``warp_mat``, ``K_crop``, ``crop_center`` and
        ``crop_size``, and return the preprocessed batch."""
        images = []
        for pred, sample in zip(preds, data_samples):
            meta = sample.metainfo
            if 'source_img' not in meta:
                raise KeyError(
                    "test_cfg['recrop'] crops the source image again, which "
                    f'the sample {meta.get("img_path")} lacks: use '
                    "dict(type='WarpView', keep_source=True) in the test "
                    'pipeline')
            # the regressed uv where the head has them (the released model:
            # the palm in the wrist's slot), as the released script boxes
            keypoints = pred.get('keypoints_regressed', pred.keypoints)
            if isinstance(keypoints, torch.Tensor):
                keypoints = keypoints.detach().cpu().numpy()
            lo, hi = box_from_points(keypoints[0], integer_box)
            corners = np.array([lo, [hi[0], lo[1]], [lo[0], hi[1]], hi])
            corners = transform_points(corners, invert(meta['warp_mat']))
            center, side = square_box(corners.min(0), corners.max(0), padding)
            w, h = meta['input_size']
            warp = canonical_crop(center, max(float(side), 1.), w,
                                  bool(meta.get('is_left')))
            img = warp_image(meta['source_img'], warp, (w, h), interpolation,
                             border_value)
            update = dict(
                warp_mat=warp.astype(np.float32),
                crop_center=center,
                crop_size=float(side))
            if meta.get('K') is not None:
                update['K_crop'] = crop_intrinsics(meta['K'],
                                                   warp).astype(np.float32)
            sample.set_metainfo(update)
            images.append(image_to_tensor(img))
        data = self.data_preprocessor(
            dict(inputs=images, data_samples=data_samples), False)
        return data['inputs']

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
