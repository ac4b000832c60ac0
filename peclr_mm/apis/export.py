# Copyright (c) peclr_mm authors. All rights reserved.
"""The whole 3-D hand model as one graph: crop image + crop intrinsics +
bone length -> camera-frame joints, for ONNX, with the preprocessing a
user must apply written into the file (docs/deployment.md)."""
import json
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

__all__ = ['Hand3DExportModule', 'export_onnx', 'preprocessing_metadata']


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


def _crop_rule(cfg) -> Tuple[str, str]:
    """The test pipeline's crop transform of ``cfg``, as JSON and in
    words."""
    pipeline = []
    if cfg is not None:
        loader = cfg.get('test_dataloader') or {}
        pipeline = loader.get(
            'dataset', {}).get('pipeline') or cfg.get('test_pipeline') or []
    crops = [t for t in pipeline if str(t.get('type', '')).endswith('Crop')]
    if not crops:
        return 'null', "see the config's test pipeline"
    crop = dict(crops[0])
    padding = crop.get('padding', 1.25)
    source = crop.get('source', 'auto')
    if source == 'image':
        words = (f'the square of side {crop.get("image_scale", 1.):.6g} x '
                 "the image's longer side about the image centre")
    else:
        box = {
            'bbox': "the hand's box",
            'keypoints': "the extent of the hand's 2-D joints"
        }.get(
            source, "the hand's 2-D joints' extent, else its box, else "
            'the whole image')
        words = (f'{box}, made square on its longer side and scaled by '
                 f'{padding:.6g} about its centre')
    words += (' (peclr_mm.datasets.transforms.HandCanonicalCrop), warped '
              'onto the input size with the crop\'s 2x3 warp_mat as '
              'WarpView does (bilinear, border 0; a warp that shrinks by '
              'more than 2x first area-averages the image by a whole '
              'factor, cv2.INTER_AREA); a left hand is mirrored into a '
              'right one first')
    return json.dumps(crop, sort_keys=True, default=str), words


def preprocessing_metadata(model: nn.Module) -> Dict[str, str]:
    """What an ONNX user must do before and after the graph of
    :class:`Hand3DExportModule`, as the ``metadata_props`` of the file
    (keys ``peclr_mm.*``, plain strings).

    Args:
        model: a built ``TopdownHand3DEstimator``; its ``cfg`` (set by
            ``mmpose.apis.init_model``) gives the crop rule.

    Returns:
        dict: key -> text.
    """
    from ..version import __version__
    wrapper = Hand3DExportModule(model)
    w, h = model.head.codec.input_size
    cfg = getattr(model, 'cfg', None)
    crop_json, crop_words = _crop_rule(cfg)
    order = 'BGR'
    mean = [round(float(v), 4) for v in wrapper.mean.flatten()]
    std = [round(float(v), 4) for v in wrapper.std.flatten()]
    norm_order = 'RGB (the graph flips BGR to RGB first)' \
        if wrapper.bgr_to_rgb else 'BGR'
    recrop = (getattr(model, 'test_cfg', None) or {}).get('recrop')
    meta = {
        'peclr_mm.version':
        __version__,
        'peclr_mm.config':
        str(getattr(cfg, 'filename', None)),
        'peclr_mm.input.image':
        (f'float32 (B, 3, {h}, {w}): the hand crop, channels {order} (as '
         'cv2.imread loads them), values 0-255 (not divided by 255, '
         'not normalised: the graph subtracts mean and divides by std)'),
        'peclr_mm.channel_order':
        order,
        'peclr_mm.pixel_scale':
        '0-255',
        'peclr_mm.mean':
        json.dumps(mean),
        'peclr_mm.std':
        json.dumps(std),
        'peclr_mm.normalised_in':
        norm_order,
        'peclr_mm.input_size':
        f'{w}x{h}',
        'peclr_mm.crop':
        crop_json,
        'peclr_mm.crop_rule':
        crop_words,
        'peclr_mm.input.K_crop':
        ('float32 (B, 3, 3): intrinsics of the crop, [warp_mat; 0 0 1] '
         '@ K of the image, in pixels'),
        'peclr_mm.input.bone_length':
        ('float32 (B,): length of bone 9-10 (middle MCP to PIP) in '
         'metres; 0.0335 when unknown'),
        'peclr_mm.output.keypoints_3d':
        ('(B, 21, 3) metres, camera frame, FreiHAND joint order, right '
         'hand (mirror x back for a mirrored left hand)'),
        'peclr_mm.output.keypoints_2d':
        ('(B, 21, 2) crop pixels; image pixels through the inverse of '
         'warp_mat'),
        'peclr_mm.second_pass':
        ('none: the config predicts once' if not recrop else
         'the config predicts twice: crop again on the box of the first '
         f'pass\'s keypoints_2d ({json.dumps(dict(recrop), default=str)}'
         ', test_cfg.recrop of TopdownHand3DEstimator) and run the graph '
         'again; the graph is one pass'),
        'peclr_mm.batch':
        'dynamic (axis 0 of every input and output)',
    }
    return meta


def export_onnx(model: nn.Module,
                path: str,
                opset: Optional[int] = 18) -> Hand3DExportModule:
    """Export ``model`` (a built ``TopdownHand3DEstimator`` in eval mode) to
    ``path`` as one ONNX file with inputs ``image``, ``K_crop``,
    ``bone_length`` and outputs ``keypoints_3d``, ``keypoints_2d``
    (:class:`Hand3DExportModule`); the batch axis is dynamic, and the
    preprocessing (:func:`preprocessing_metadata`) is written into the
    file's ``metadata_props``.

    Args:
        model: a built ``TopdownHand3DEstimator``; its head's codec gives
            the crop size (W, H) of the traced inputs.
        path: the ONNX file to write (atomically, weights inline).
        opset: the ONNX opset version; ``None`` lets ``torch.onnx``
            choose.

    Returns:
        Hand3DExportModule: the exported module, to compare against.
    """
    import onnx

    from ..utils.io import atomic_write
    wrapper = Hand3DExportModule(model).eval()
    w, h = model.head.codec.input_size
    batch = 2  # traced with 2: a batch of 1 would be specialised
    args = (torch.rand(batch, 3, h, w) * 255,
            torch.tensor([[[500., 0., w / 2], [0., 500., h / 2],
                           [0., 0., 1.]]]).expand(batch, 3, 3).clone(),
            torch.full((batch, ), 0.03))
    dim = torch.export.Dim('batch', min=1)
    dynamic_shapes = dict(
        image={0: dim}, K_crop={0: dim}, bone_length={0: dim})
    metadata = preprocessing_metadata(model)

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
                dynamic_shapes=dynamic_shapes,
                external_data=False)
        proto = onnx.load(name)
        onnx.helper.set_model_props(proto, metadata)
        onnx.save(proto, name)

    atomic_write(path, write)
    return wrapper
