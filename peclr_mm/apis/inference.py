# Copyright (c) peclr_mm authors. All rights reserved.
"""3-D hand pose on one's own images (unknown camera, unknown scale)."""
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate

from ..utils.affine import transform_points
from ..utils.camera import check_intrinsics, project

__all__ = [
    'inference_hand3d', 'default_intrinsics', 'check_intrinsics',
    'DEFAULT_BONE_LENGTH'
]

#: Length of bone 9-10 (middle-finger MCP to PIP) assumed when the user
#: gives none: about the mean of FreiHAND's ``training_scale.json``.
DEFAULT_BONE_LENGTH = 0.0335
#: Focal length in units of the image's longer side assumed when the camera
#: is unknown: a FreiHAND-like field of view (about 600 px at 224 px).
DEFAULT_FOCAL_PER_SIDE = 2.7


def default_intrinsics(width: int, height: int) -> np.ndarray:
    """A pinhole camera with the principal point at the image centre and a
    FreiHAND-like field of view, for images whose camera is unknown."""
    f = DEFAULT_FOCAL_PER_SIDE * max(width, height)
    return np.array([[f, 0., width / 2.], [0., f, height / 2.], [0., 0., 1.]])


def _pipeline(input_size: int, source: str, padding: float) -> Compose:
    return Compose([
        dict(
            type='HandCanonicalCrop',
            input_size=input_size,
            source=source,
            padding=padding),
        dict(type='WarpView'),
        dict(type='PackHand3DInputs'),
    ])


@torch.no_grad()
def _run(model, source: str, padding: float, info: dict):
    pipeline = _pipeline(model.head.codec.input_size[0], source, padding)
    data = pseudo_collate([pipeline(dict(info))])
    return model.test_step(data)[0]


def inference_hand3d(model: torch.nn.Module,
                     img: Union[str, np.ndarray],
                     K: Optional[np.ndarray] = None,
                     bone_length: float = DEFAULT_BONE_LENGTH,
                     bbox: Optional[Sequence[float]] = None,
                     recrop: bool = False,
                     padding: float = 1.3) -> dict:
    """Predict camera-frame 3-D joints of the hand in ``img``.

    Args:
        model: a ``TopdownHand3DEstimator`` (e.g. from
            ``mmpose.apis.init_model``).
        img: image path or BGR array.
        K: 3x3 intrinsics; ``None`` assumes :func:`default_intrinsics`.
        bone_length: length of bone 9-10 in metres; sets the absolute scale
            and depth (the 2.5-D representation is scale-free).
        bbox: hand box ``[x1, y1, x2, y2]``; ``None`` crops the whole image
            (hand-centred images, like FreiHAND).
        recrop: a second pass on a crop around the first prediction's 2-D
            joints, as the released PeCLR test script does.
        padding: box enlargement of the bbox and re-crop passes.

    Returns:
        dict: ``keypoints_3d`` (21, 3) metres, ``keypoints_2d`` (21, 2)
        image pixels, ``K``, ``bone_length``, ``warp_mat`` and ``passes``.
    """
    from ..datasets.transforms import LoadHandImage
    info = dict(img_path=img) if isinstance(img, str) else dict(
        img=img, img_path='<array>')
    info = LoadHandImage()(info)  # names the file if it cannot be decoded
    h, w = info['img_shape']
    K = default_intrinsics(w, h) if K is None else check_intrinsics(K)
    if not (np.isfinite(bone_length) and bone_length > 0):
        raise ValueError('bone_length must be a positive number of metres, '
                         f'got {bone_length}')
    info.update(K=K.astype(np.float32), bone_length=float(bone_length))
    if bbox is not None:
        info['bbox'] = np.asarray(bbox, np.float32).reshape(1, 4)
    sample = _run(model, 'image' if bbox is None else 'bbox', padding, info)
    passes = 1
    if recrop:
        kpts = sample.pred_instances.keypoints[0]
        info['bbox'] = np.concatenate([kpts.min(0), kpts.max(0)])[None]
        sample = _run(model, 'bbox', padding, info)
        passes = 2
    pred = sample.pred_instances
    warp = np.asarray(sample.metainfo['warp_mat'], np.float64)
    xyz = np.asarray(pred.keypoints_3d, np.float64)[0]
    kpts = np.asarray(pred.keypoints, np.float64)[0]
    return dict(
        keypoints_3d=xyz,
        keypoints_2d=kpts,
        projected_2d=project(xyz, K),
        crop_2d=transform_points(kpts, warp),
        K=K,
        bone_length=float(bone_length),
        warp_mat=warp,
        passes=passes)
