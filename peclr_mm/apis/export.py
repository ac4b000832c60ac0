# Copyright (c) peclr_mm authors. All rights reserved.
"""The whole 3-D hand model as one graph: crop image + crop intrinsics +
bone length -> camera-frame joints, for ONNX."""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

__all__ = ['Hand3DExportModule', 'export_onnx']


class Hand3DExportModule(nn.Module):
    """A ``TopdownHand3DEstimator`` from the crop to the joints: the data
    preprocessor's normalisation, the backbone, the head's 2.5-D read-out,
    the closed-form root depth with its refinement, and the decoding, with
    no metainfo.

    Inputs (batch B, crop H x W):
        image: (B, 3, H, W) float32, 0-255, in the channel order the test
            pipeline loads (OpenCV's BGR for the shipped configs), already
            cropped (e.g. ``cv2.warpAffine`` with the crop's ``warp_mat``).
        K_crop: (B, 3, 3) intrinsics of the crop (``[warp_mat; 0 0 1] @
            K``).
        bone_length: (B,) length of bone 9-10 in metres.

    Outputs:
        keypoints_3d: (B, 21, 3) metres, camera frame, FreiHAND order.
        keypoints_2d: (B, 21, 2) crop pixels.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()
        pre = model.data_preprocessor
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        if getattr(pre, '_enable_normalize', False):
            mean, std = pre.mean.reshape(1, -1, 1,
                                         1), pre.std.reshape(1, -1, 1, 1)
        else:
            mean, std = torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean.clone().float(), persistent=False)
        self.register_buffer('std', std.clone().float(), persistent=False)

    def forward(self, image: Tensor, K_crop: Tensor,
                bone_length: Tensor) -> Tuple[Tensor, Tensor]:
        if self.bgr_to_rgb:
            image = image.flip(1)
        x = (image - self.mean) / self.std
        feats = self.model.extract_feat(x)
        out = self.model.head.predict_joints(feats, K_crop, bone_length)
        return out['keypoints_3d'], out['keypoints']


def export_onnx(model: nn.Module,
                path: str,
                batch_size: int = 1,
                opset: Optional[int] = 18) -> Hand3DExportModule:
    """Export ``model`` (a built ``TopdownHand3DEstimator`` in eval mode) to
    ``path`` as one ONNX file with inputs ``image``, ``K_crop``,
    ``bone_length`` and outputs ``keypoints_3d``, ``keypoints_2d``
    (:class:`Hand3DExportModule`); the batch size is fixed.

    Args:
        model: a built ``TopdownHand3DEstimator``; its head's codec gives
            the crop size (W, H) of the traced inputs.
        path: the ONNX file to write (atomically, weights inline).
        batch_size: the batch size B fixed in the graph.
        opset: the ONNX opset version; ``None`` lets ``torch.onnx``
            choose.

    Returns:
        Hand3DExportModule: the exported module, to compare against.
    """
    from ..utils.io import atomic_write
    wrapper = Hand3DExportModule(model).eval()
    w, h = model.head.codec.input_size
    args = (torch.rand(batch_size, 3, h, w) * 255,
            torch.tensor([[[500., 0., w / 2], [0., 500., h / 2],
                           [0., 0., 1.]]]).expand(batch_size, 3, 3).clone(),
            torch.full((batch_size, ), 0.03))

    def write(name: str) -> None:
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                args,
                name,
                input_names=['image', 'K_crop', 'bone_length'],
                output_names=['keypoints_3d', 'keypoints_2d'],
                opset_version=opset,
                dynamo=True,
                external_data=False)

    atomic_write(path, write)
    return wrapper
