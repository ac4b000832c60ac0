# Copyright (c) peclr_mm authors. All rights reserved.
"""FreiHAND 3-D keypoint scores, vectorised, equal to the official scoring.

The official toolbox (``lmb-freiburg/freihand``: ``eval.py`` and
``utils/eval_util.py``) loops over samples in Python; this module computes the
same numbers on whole arrays (docs/design.md section 5):

- Procrustes alignment as in ``align_w_scale(gt, pred)``: centre, divide by
  the Frobenius norm (+1e-8), solve ``scipy.linalg.orthogonal_procrustes``
  (which allows reflections), rescale to the ground truth and add its
  centroid. mmpose's ``keypoint_mpjpe`` forbids reflections, so it is not
  reused: its PA-EPE differs from the server's at large errors.
- ``EvalUtil.get_measures(0, 0.05, 100)``: per joint the mean and median
  distance and the PCK curve (``d <= t``) over 100 thresholds, its trapezoid
  area over 0..50 mm, and the mean over joints of each.
"""
from typing import Dict

import numpy as np

from ..utils.arrays import NUM_JOINTS, check_points
from ..utils.camera import project

__all__ = [
    'FREIHAND_THRESHOLDS', 'align_w_scale', 'freihand_scores',
    'root_relative_epe', 'epe_2d', 'named_scores'
]

#: PCK thresholds of the official scoring, metres (0..50 mm, 100 steps).
FREIHAND_THRESHOLDS = np.linspace(0.0, 0.05, 100)

_trapezoid = getattr(np, 'trapezoid', None) or np.trapz


def _check_xyz(arr, name: str) -> np.ndarray:
    """Return ``arr`` as float64 (N, 21, 3) or raise naming ``name``."""
    return check_points(arr, name)


def _check_pair(pred_xyz, gt_xyz):
    """Both arrays checked by :func:`_check_xyz`, of the same shape."""
    pred = _check_xyz(pred_xyz, 'pred_xyz')
    gt = _check_xyz(gt_xyz, 'gt_xyz')
    if pred.shape != gt.shape:
        raise ValueError(f'pred_xyz {pred.shape} and gt_xyz {gt.shape} must '
                         f'both have shape (N, {NUM_JOINTS}, 3) with the '
                         'same N')
    return pred, gt


def align_w_scale(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Align ``pred`` to ``gt`` per sample, as the official ``align_w_scale``.

    Equal to ``scipy.linalg.orthogonal_procrustes`` applied sample by sample:
    its rotation is ``U @ Vt`` from the SVD of ``gt_n.T @ pred_n``, reflections
    included, and its scale is the sum of the singular values.

    Args:
        gt (np.ndarray): (N, K, 3) or (K, 3) ground truth.
        pred (np.ndarray): prediction of the same shape.

    Returns:
        np.ndarray: ``pred`` aligned to ``gt``, same shape, float64.
    """
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if gt.shape != pred.shape or gt.ndim not in (2, 3) or gt.shape[-1] != 3:
        raise ValueError('gt and pred must share a shape (N, K, 3) or (K, 3), '
                         f'got {gt.shape} and {pred.shape}')
    if gt.ndim == 2:
        return align_w_scale(gt[None], pred[None])[0]
    t1 = gt.mean(axis=1, keepdims=True)
    t2 = pred.mean(axis=1, keepdims=True)
    gt_c = gt - t1
    pred_c = pred - t2
    s1 = np.linalg.norm(gt_c, axis=(1, 2))[:, None, None] + 1e-8
    s2 = np.linalg.norm(pred_c, axis=(1, 2))[:, None, None] + 1e-8
    gt_n = gt_c / s1
    pred_n = pred_c / s2
    u, w, vt = np.linalg.svd(np.swapaxes(gt_n, 1, 2) @ pred_n)
    rot = u @ vt
    scale = w.sum(axis=1)[:, None, None]
    return (pred_n @ np.swapaxes(rot, 1, 2)) * scale * s1 + t1


def _measures(dist: np.ndarray) -> Dict[str, np.ndarray]:
    """``EvalUtil.get_measures(0, 0.05, 100)`` for all-visible (N, J)
    distances in metres."""
    thresholds = FREIHAND_THRESHOLDS
    # pck[j, k] = mean(dist[:, j] <= thresholds[k]), counted on sorted data
    ranked = np.sort(dist, axis=0)
    pck = np.stack(
        [np.searchsorted(col, thresholds, side='right')
         for col in ranked.T]) / len(dist)
    norm = _trapezoid(np.ones_like(thresholds), thresholds)
    auc = _trapezoid(pck, thresholds, axis=1) / norm
    return dict(
        epe=dist.mean(axis=0),
        median=np.median(dist, axis=0),
        auc=auc,
        pck=pck)


def freihand_scores(pred_xyz: np.ndarray,
                    gt_xyz: np.ndarray) -> Dict[str, object]:
    """Score 3-D hand joints exactly as the FreiHAND server does.

    Args:
        pred_xyz (np.ndarray): (N, 21, 3) predicted joints, metres, camera
            frame, FreiHAND joint order.
        gt_xyz (np.ndarray): (N, 21, 3) ground truth, same conventions.

    Returns:
        dict: with, for the camera frame (no prefix) and after per-sample
        Procrustes alignment (``pa_`` prefix):

        - ``epe_mm`` / ``pa_epe_mm`` (float): mean over joints of the
          per-joint mean error, mm (the server's ``xyz_mean3d``, which it
          reports in cm).
        - ``epe_median_mm`` / ``pa_epe_median_mm`` (float): mean over joints
          of the per-joint median error, mm (the official second output).
        - ``auc`` / ``pa_auc`` (float): mean over joints of the PCK area over
          0..50 mm, normalised to [0, 1].
        - ``per_joint_epe_mm`` / ``per_joint_pa_epe_mm`` (np.ndarray): (21,).
        - ``pck_curve`` / ``pa_pck_curve`` (np.ndarray): (100,) PCK averaged
          over joints at ``thresholds_mm``.
        - ``thresholds_mm`` (np.ndarray): (100,) ``linspace(0, 50, 100)``.

    Raises:
        ValueError: an input is not a finite (N, 21, 3) array, or the two
            shapes differ.
    """
    pred, gt = _check_pair(pred_xyz, gt_xyz)
    scores: Dict[str, object] = dict(thresholds_mm=FREIHAND_THRESHOLDS * 1e3)
    for prefix, candidate in (('', pred), ('pa_', align_w_scale(gt, pred))):
        dist = np.sqrt(np.sum(np.square(gt - candidate), axis=2))
        m = _measures(dist)
        scores[f'{prefix}epe_mm'] = float(m['epe'].mean() * 1e3)
        scores[f'{prefix}epe_median_mm'] = float(m['median'].mean() * 1e3)
        scores[f'{prefix}auc'] = float(m['auc'].mean())
        scores[f'per_joint_{prefix}epe_mm'] = m['epe'] * 1e3
        scores[f'{prefix}pck_curve'] = m['pck'].mean(axis=0)
    return scores


def root_relative_epe(pred_xyz: np.ndarray,
                      gt_xyz: np.ndarray,
                      root: int = 0) -> float:
    """Mean joint error after moving both hands' ``root`` joint (default
    the wrist) onto each other, mm (mmpose's ``MPJPE`` after root
    alignment). Unlike PA-EPE it keeps the hand's global rotation and
    scale, which is what an equivariant encoder is expected to get right;
    unlike EPE it ignores the root depth.

    Args:
        pred_xyz (np.ndarray): (N, 21, 3) predicted joints, metres.
        gt_xyz (np.ndarray): (N, 21, 3) ground truth, metres.
        root (int): index of the joint to align.

    Returns:
        float: the mean over samples and joints, mm.
    """
    pred, gt = _check_pair(pred_xyz, gt_xyz)
    if not 0 <= root < NUM_JOINTS:
        raise ValueError(f'root must be a joint index in [0, {NUM_JOINTS}), '
                         f'got {root}')
    rel = (pred - pred[:, root:root + 1]) - (gt - gt[:, root:root + 1])
    return float(np.linalg.norm(rel, axis=2).mean() * 1e3)


def epe_2d(pred_xyz: np.ndarray, gt_xyz: np.ndarray, K: np.ndarray) -> float:
    """Mean distance between the two hands' projections with each sample's
    intrinsics, in image pixels (the 2-D error of the paper's ablations).

    Args:
        pred_xyz (np.ndarray): (N, 21, 3) predicted joints, metres, camera
            frame.
        gt_xyz (np.ndarray): (N, 21, 3) ground truth, same frame.
        K (np.ndarray): (N, 3, 3) intrinsics.

    Returns:
        float: the mean over samples and joints, pixels.
    """
    pred, gt = _check_pair(pred_xyz, gt_xyz)
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (len(gt), 3, 3):
        raise ValueError(f'K must have shape ({len(gt)}, 3, 3) (one '
                         f'intrinsics matrix per sample), got {K.shape}')

    # a predicted joint on or behind the camera plane is projected as if
    # 1 mm in front of it: a large error instead of a mirrored point
    d = np.linalg.norm(
        project(pred, K, eps=1e-3) - project(gt, K, eps=1e-3), axis=2)
    return float(d.mean())


def named_scores(pred_xyz: np.ndarray, gt_xyz: np.ndarray) -> tuple:
    """The 3-D measures under the names every report of the package uses.

    Args:
        pred_xyz (np.ndarray): (N, 21, 3) predicted joints, metres.
        gt_xyz (np.ndarray): (N, 21, 3) ground truth, metres.

    Returns:
        tuple: ``{'EPE', 'PA-EPE', 'AUC', 'PA-AUC', 'RR-EPE'}`` (mm and
        fractions) and the full :func:`freihand_scores`.
    """
    scores = freihand_scores(pred_xyz, gt_xyz)
    return {
        'EPE': scores['epe_mm'],
        'PA-EPE': scores['pa_epe_mm'],
        'AUC': scores['auc'],
        'PA-AUC': scores['pa_auc'],
        'RR-EPE': root_relative_epe(pred_xyz, gt_xyz),
    }, scores
