# Copyright (c) peclr_mm authors. All rights reserved.
"""The mean-pose reference (docs/design.md section 4c): the floor a trained
model must clear, a prediction that ignores the image.

- 2-D: the mean of the labeled training set's joint projections in image
  pixels, placed on every evaluation image, scored with EPE-2D. A model
  that is shown the hand's box (a top-down crop around the ground-truth
  keypoints) knows where the hand is and how big; its fair reference is
  the *mean pose in the box*: the training set's mean joint positions
  relative to the square box around each hand's joints (centre and side),
  placed in each evaluation hand's box (``EPE-2D-in-box``; the box's
  padding cancels out).
- 3-D: the mean wrist-relative pose of the labeled training set placed at
  each evaluation hand's true wrist, scored with RR-EPE, PA-EPE (and EPE,
  AUC, which the true wrist makes optimistic).
"""
from typing import Dict, NamedTuple, Optional, Union

import numpy as np

from ..utils.affine import square_box
from ..utils.annotations import load_freihand_annotations, select_subset
from ..utils.camera import project
from .functional import _check_xyz, named_scores

__all__ = [
    'MeanPose', 'fit_mean_pose', 'load_mean_pose', 'mean_pose_scores',
    'MEAN_POSE_KEYS'
]

#: The scores compared with the mean pose's (model / mean ratios); the
#: model's EPE-2D is compared with both 2-D references.
MEAN_POSE_KEYS = ('EPE-2D', 'EPE-2D-in-box', 'RR-EPE', 'PA-EPE')


class MeanPose(NamedTuple):
    """The mean pose of a labeled set."""
    #: (21, 3) mean wrist-relative joints, metres.
    rel_xyz: np.ndarray
    #: (21, 2) mean joint projections, image pixels.
    uv: np.ndarray
    #: (21, 2) mean joint projections relative to the hand's square box:
    #: ``(uv - box centre) / box side``.
    uv_in_box: np.ndarray
    #: number of annotations averaged.
    num: int


def fit_mean_pose(xyz: np.ndarray, K: np.ndarray) -> MeanPose:
    """The mean pose of (N, 21, 3) joints in metres seen by (N, 3, 3)
    cameras.

    Args:
        xyz: (N, 21, 3) joints in metres in the camera frame.
        K: (N, 3, 3) intrinsics in pixels of the images they are seen in.

    Returns:
        MeanPose: the mean wrist-relative joints (metres), joint
        projections (image pixels) and projections in the hand's box, of
        the N annotations.

    Raises:
        ValueError: ``xyz`` is not finite (N, 21, 3) or ``K`` not
            (N, 3, 3).
    """
    xyz = _check_xyz(xyz, 'xyz')
    K = np.asarray(K, np.float64)
    if K.shape != (len(xyz), 3, 3):
        raise ValueError(f'K must have shape ({len(xyz)}, 3, 3), got '
                         f'{K.shape}')
    uv = project(xyz, K)
    return MeanPose(
        rel_xyz=(xyz - xyz[:, :1]).mean(0),
        uv=uv.mean(0),
        uv_in_box=_in_box(uv).mean(0),
        num=len(xyz))


def _in_box(uv: np.ndarray) -> np.ndarray:
    """(N, 21, 2) image pixels relative to each hand's square box."""
    centre, side = square_box(uv.min(1), uv.max(1))
    return (uv - centre[:, None]) / side[:, None, None]


def load_mean_pose(data_root: str,
                   subset: Optional[Union[int, float]] = None,
                   subset_seed: int = 0) -> MeanPose:
    """The mean pose of a FreiHAND-layout root's training annotations (or
    of the labeled subset that ``FreiHand3DDataset(subset=..., subset_seed
    =...)`` trains on).

    Args:
        data_root: a FreiHAND-layout root, holding the
            ``training_{xyz,K,scale}.json`` annotations.
        subset: how many annotations to keep (int) or which fraction
            (float in (0, 1]); ``None`` keeps all.
        subset_seed: seed of the subset's draw.

    Returns:
        MeanPose: the mean pose of the kept training annotations.

    Raises:
        FileNotFoundError: an annotation file is missing.
        ValueError: bad annotations or a bad ``subset``.
    """
    ann = load_freihand_annotations(data_root, 'training')
    keep = select_subset(len(ann['xyz']), subset, subset_seed)
    return fit_mean_pose(ann['xyz'][keep], ann['K'][keep])


def mean_pose_scores(mean: MeanPose,
                     gt_xyz: np.ndarray,
                     K: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Score the mean pose on an evaluation set.

    Args:
        mean: from :func:`fit_mean_pose` or :func:`load_mean_pose`.
        gt_xyz: (N, 21, 3) evaluation joints, metres.
        K: (N, 3, 3) their intrinsics; without them no ``EPE-2D``.

    Returns:
        dict: ``EPE-2D`` and ``EPE-2D-in-box`` (px, with K), ``RR-EPE``,
        ``PA-EPE``, ``EPE`` (mm), ``AUC``, ``PA-AUC``, named as
        :class:`FreiHand3DMetric` names them.
    """
    gt = _check_xyz(gt_xyz, 'gt_xyz')
    pred = mean.rel_xyz[None] + gt[:, :1]
    out, _ = named_scores(pred, gt)
    if K is not None:
        K = np.asarray(K, np.float64)
        if K.shape != (len(gt), 3, 3):
            raise ValueError(f'K must have shape ({len(gt)}, 3, 3), got '
                             f'{K.shape}')
        # the mean image position, not the projection of the 3-D mean
        # placed at the true wrist (which knows where the hand is)
        uv = project(gt, K)
        out['EPE-2D'] = float(np.linalg.norm(uv - mean.uv, axis=-1).mean())
        centre, side = square_box(uv.min(1), uv.max(1))
        in_box = centre[:, None] + mean.uv_in_box * side[:, None, None]
        out['EPE-2D-in-box'] = float(
            np.linalg.norm(uv - in_box, axis=-1).mean())
    return out
