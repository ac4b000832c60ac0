# Copyright (c) peclr_mm authors. All rights reserved.
"""What a frozen encoder holds, measured without an optimiser.

- :func:`pipeline_views`: samples through a pose config's test pipeline,
  the views every probe reads.
- :func:`ridge_probe`: the exact linear probe (closed-form ridge regression
  on standardised features, unpenalised intercept); :func:`rotation_readout`
  reads with it the in-plane rotation applied to an image, and
  :func:`orientation_spread` measures how hands already lie in their
  images.
- :func:`pooled_features`: an encoder's average-pooled last feature map for
  packed pipeline outputs; :func:`projections` a self-supervised
  algorithm's projections of them.
- :func:`knn_pose_distance`: nearest-neighbour retrieval of hand poses from
  features (the paper's retrieval figure as a number).
- :func:`partner_rank`: whether features find the same hand again under
  another appearance (FreiHAND's versions: same pose, other background and
  colours), i.e. whether they describe the hand or the picture.
- :func:`latent_equivariance`: how far a view's latent points move under a
  known rotation and shift, against how far PeCLR says they should.
"""
import re
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from peclr_mm.evaluation.functional import align_w_scale
from peclr_mm.models.utils.latent_geometry import (apply_view_geometry,
                                                   undo_view_geometry)

__all__ = [
    'pipeline_views', 'build_with_encoder', 'ridge_probe',
    'select_ridge_lambda', 'pooled_features', 'projections',
    'knn_pose_distance', 'pose_distance', 'latent_equivariance', 'move_latent',
    'partner_rank'
]


def pipeline_views(cfg,
                   data_root: str,
                   split: str,
                   num: int,
                   size: int,
                   version: int = 0) -> list:
    """The first ``num`` samples of ``split`` through a pose config's test
    pipeline (no augmentation) at ``size`` px, packed.

    Args:
        cfg: a fine-tuning config (its ``test_dataloader.dataset``).
        data_root: a FreiHAND-layout root.
        split: ``'training'`` or ``'evaluation'``.
        num: samples wanted; more than the split holds is an error.
        size: crop size in pixels.
        version: which image version of the training annotations
            (FreiHAND: 4 appearances of each hand); ignored for evaluation.
    """
    from mmpose.registry import DATASETS

    from peclr_mm.utils.config import set_input_size
    dcfg = cfg.test_dataloader.dataset.copy()
    dcfg.data_root = data_root
    dcfg.split = split
    if split == 'training':
        dcfg.versions = [version]
    set_input_size(dcfg.pipeline, size)
    dataset = DATASETS.build(dcfg)
    if num > len(dataset):
        raise ValueError(f'{data_root}: the {split} split has '
                         f'{len(dataset)} annotations, {num} asked for')
    return [dataset[i] for i in range(num)]


def build_with_encoder(model_cfg: dict,
                       checkpoint: Optional[str] = None,
                       prefix: Optional[str] = 'backbone.',
                       seed: int = 0) -> torch.nn.Module:
    """Build ``model_cfg`` (random weights drawn with ``seed``, so every
    encoder's head starts alike) and, given a checkpoint, load its weights
    safely: with ``prefix`` the ``prefix*`` weights into the backbone (a
    pretraining checkpoint into a pose model), with ``prefix=None`` the
    whole model (a pretraining checkpoint into its own algorithm).

    Args:
        model_cfg: the model's config dict (built by mmpose's ``MODELS``).
        checkpoint: path or URL of the checkpoint to load; ``None`` (or
            empty) keeps the random weights.
        prefix: the checkpoint keys' prefix of the backbone weights,
            stripped to load them into ``model.backbone``; ``None`` loads
            the whole model.
        seed: the torch seed of the random initialisation.

    Returns:
        torch.nn.Module: the model, in eval mode.
    """
    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint:
        if prefix is None:
            load_checkpoint(
                model, checkpoint, map_location='cpu', logger='silent')
        else:
            load_checkpoint(
                model.backbone,
                checkpoint,
                map_location='cpu',
                revise_keys=[(f'^{re.escape(prefix)}', '')],
                logger='silent')
    return model.eval()


def ridge_probe(f_train: np.ndarray, y_train: np.ndarray, f_eval: np.ndarray,
                lam: float) -> np.ndarray:
    """Ridge regression on standardised features with an unpenalised
    intercept; returns the predictions for ``f_eval``.

    Args:
        f_train: (N, C) training features.
        y_train: (N, T) training targets.
        f_eval: (M, C) features to predict for.
        lam: the ridge penalty (on standardised features, so comparable
            across encoders).
    """
    f_train = np.asarray(f_train, np.float64)
    f_eval = np.asarray(f_eval, np.float64)
    y_train = np.asarray(y_train, np.float64)
    if f_train.ndim != 2 or f_eval.ndim != 2 or \
            f_train.shape[1] != f_eval.shape[1]:
        raise ValueError('f_train and f_eval must be (N, C) and (M, C), got '
                         f'{f_train.shape} and {f_eval.shape}')
    if y_train.ndim != 2 or len(y_train) != len(f_train):
        raise ValueError(f'y_train must be ({len(f_train)}, T), got '
                         f'{y_train.shape}')
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    X, Xe = (f_train - mu) / sd, (f_eval - mu) / sd
    ym = y_train.mean(0)
    W = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]),
                        X.T @ (y_train - ym))
    return Xe @ W + ym


def select_ridge_lambda(f: np.ndarray,
                        y: np.ndarray,
                        lambdas: Sequence[float],
                        holdout: float = 0.2,
                        seed: int = 0) -> float:
    """The ridge penalty with the least L1 error on a random ``holdout``
    part of the labeled samples, fitted on the rest (the evaluation split
    is never looked at).

    Args:
        f: (N, C) features of the labeled samples.
        y: (N, T) their targets.
        lambdas: the candidate penalties (see :func:`ridge_probe`).
        holdout: the fraction of the N samples held out to score them.
        seed: seed of the random holdout split.

    Returns:
        float: the candidate with the least mean absolute error on the
        holdout (the first one on a tie).

    Raises:
        ValueError: fewer than two samples are left to fit on.
    """
    n = len(f)
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(holdout * n)))
    if n - n_val < 2:
        raise ValueError(f'{n} labeled samples are too few to select a '
                         'ridge penalty')
    val, fit = order[:n_val], order[n_val:]
    errors = [
        np.abs(ridge_probe(f[fit], y[fit], f[val], lam) - y[val]).mean()
        for lam in lambdas
    ]
    return float(lambdas[int(np.argmin(errors))])


def rotation_readout(
    f_train: np.ndarray,
    theta_train: np.ndarray,
    f_eval: np.ndarray,
    theta_eval: np.ndarray,
    lambdas: Sequence[float] = (1., 10., 100., 1000.)
) -> Dict[str, float]:
    """How well frozen features tell the in-plane rotation applied to an
    image: ridge regression (:func:`ridge_probe`, the penalty chosen on a
    holdout of the training part) from the features to ``(cos, sin)`` of
    the angle, read back with ``atan2``.

    An encoder invariant to rotation cannot do better than ``chance``, the
    error of always answering the training angles' circular mean; what
    pose needs (the paper's argument) is that the angle stays readable.
    Any angle of the image works: the hand's own in-plane orientation
    (:func:`hand_orientation`) as well as a rotation applied to it.

    Args:
        f_train: (N, C) features of rotated training views.
        theta_train: (N,) their rotations in degrees.
        f_eval: (M, C) features of rotated evaluation views.
        theta_eval: (M,) their rotations in degrees.
        lambdas: candidate ridge penalties.

    Returns:
        dict: ``error_deg`` (mean absolute angular error on the evaluation
        views), ``chance_deg`` and the chosen ``lam``.
    """

    def unit(theta):
        t = np.deg2rad(np.asarray(theta, np.float64))
        return np.stack([np.cos(t), np.sin(t)], 1)

    def angular_error(a, b):
        d = (np.asarray(a) - np.asarray(b) + 180.) % 360. - 180.
        return float(np.abs(d).mean())

    y = unit(theta_train)
    lam = select_ridge_lambda(f_train, y, lambdas)
    pred = ridge_probe(f_train, y, f_eval, lam)
    theta_pred = np.rad2deg(np.arctan2(pred[:, 1], pred[:, 0]))
    mean = np.rad2deg(np.arctan2(y[:, 1].mean(), y[:, 0].mean()))
    return dict(
        error_deg=angular_error(theta_pred, theta_eval),
        chance_deg=angular_error(np.full(len(theta_eval), mean), theta_eval),
        lam=lam)


def hand_orientation(uv: np.ndarray,
                     joints: Tuple[int, int] = (0, 9)) -> np.ndarray:
    """The in-plane orientation of hands in their images, degrees in
    (-180, 180]: the direction of the 2-D vector from joint ``joints[0]``
    to ``joints[1]`` (FreiHAND: the wrist to the middle finger's MCP), 0
    pointing right, 90 pointing up the image.

    Args:
        uv: (N, 21, 2) image pixels (y down).
        joints: the two joints of the direction.

    Returns:
        np.ndarray: (N,) degrees.
    """
    uv = np.asarray(uv, np.float64)
    if uv.ndim != 3 or uv.shape[2] != 2 or uv.shape[1] <= max(joints):
        raise ValueError(f'uv must be (N, J, 2) with J > {max(joints)}, got '
                         f'{uv.shape}')
    d = uv[:, joints[1]] - uv[:, joints[0]]
    # y down: up the image is +90; + 0. makes -0. 0., so 180 not -180
    return np.rad2deg(np.arctan2(-d[:, 1] + 0., d[:, 0]))


def orientation_spread(uv: np.ndarray,
                       joints: Tuple[int, int] = (0, 9)) -> Dict[str, float]:
    """The in-plane orientation of hands in their images: the direction of
    the 2-D vector from joint ``joints[0]`` to ``joints[1]`` (FreiHAND: the
    wrist to the middle finger's MCP), in degrees (0: pointing right, 90:
    pointing up the image).

    Args:
        uv: (N, 21, 2) image pixels (y down).
        joints: the two joints of the direction.

    Returns:
        dict: ``circular_std_deg`` (``sqrt(-2 ln R)`` of the mean resultant
        length R), ``mean_deg`` and the 10th/50th/90th percentiles of the
        angle's deviation from that mean (``p10_deg`` ...).
    """
    theta = np.deg2rad(hand_orientation(uv, joints))
    c, s_ = np.cos(theta).mean(), np.sin(theta).mean()
    R = float(np.hypot(c, s_))
    mean = np.arctan2(s_, c)
    dev = np.rad2deg((theta - mean + np.pi) % (2 * np.pi) - np.pi)
    return dict(
        circular_std_deg=float(
            np.rad2deg(np.sqrt(-2 * np.log(max(R, 1e-12))))),
        mean_deg=float(np.rad2deg(mean)),
        p10_deg=float(np.percentile(dev, 10)),
        p50_deg=float(np.percentile(dev, 50)),
        p90_deg=float(np.percentile(dev, 90)))


@torch.no_grad()
def pooled_features(model: torch.nn.Module,
                    packed: Sequence[dict],
                    batch_size: int = 100,
                    stage: int = -1,
                    grid: int = 1) -> np.ndarray:
    """(N, C * grid * grid) average-pooled backbone features of packed
    samples.

    Args:
        model: a model with ``data_preprocessor`` and ``backbone`` (a pose
            estimator or a self-supervised algorithm).
        packed: pipeline outputs (``inputs`` and ``data_samples``).
        batch_size: samples per forward pass.
        stage: which of the backbone's outputs.
        grid: pool the map to ``grid x grid`` cells instead of one, keeping
            where in the image the activations are (1: the global average
            pool the paper's linear evaluation reads).
    """
    if grid < 1:
        raise ValueError(f'pooled_features: grid must be >= 1, got {grid}')
    with torch.no_grad():
        out = [
            F.adaptive_avg_pool2d(model.backbone(x)[stage], grid).flatten(1)
            for x in _model_inputs(model, packed, batch_size)
        ]
    return torch.cat(out).double().cpu().numpy()


def projections(model: torch.nn.Module,
                packed: Sequence[dict],
                batch_size: int = 100) -> torch.Tensor:
    """(N, D) the projections (the latent that PeCLR's loss compares) of
    a self-supervised algorithm for packed samples, float64.

    Args:
        model: a PeCLR/SimCLR algorithm (``data_preprocessor`` and
            ``project``).
        packed: pipeline outputs (``inputs`` and ``data_samples``); the
            first view of each is read.
        batch_size: samples per forward pass.
    """
    with torch.no_grad():
        return torch.cat([
            model.project(x).double()
            for x in _model_inputs(model, packed, batch_size)
        ]).cpu()


def _model_inputs(model: torch.nn.Module, packed: Sequence[dict],
                  batch_size: int):
    """Batches of packed samples through the model's data preprocessor, as
    the model's own input tensors (the first view of self-supervised
    inputs), in eval mode."""
    from mmengine.dataset import default_collate
    model.eval()
    for i in range(0, len(packed), batch_size):
        chunk = packed[i:i + batch_size]
        if isinstance(chunk[0]['inputs'], list):
            # views, batched per view as the pretraining loader does
            batch = default_collate(chunk)
        else:
            batch = dict(
                inputs=[v['inputs'] for v in chunk],
                data_samples=[v['data_samples'] for v in chunk])
        inputs = model.data_preprocessor(batch)['inputs']
        if isinstance(inputs, list):  # self-supervised preprocessors
            inputs = inputs[0]
        yield inputs


def pose_distance(a: np.ndarray,
                  b: np.ndarray,
                  aligned: bool = True) -> np.ndarray:
    """(N,) mean per-joint distance in millimetres between (N, J, 3) poses
    in metres: after aligning ``b`` to ``a`` (Procrustes with scale, the
    articulation alone), or root-relative (joint 0 on joint 0: the hand as
    the camera sees it).

    Args:
        a: (N, J, 3) reference poses in metres.
        b: (N, J, 3) poses in metres compared with them.
        aligned: Procrustes-align ``b`` to ``a`` (scale, rotation,
            translation), else subtract each pose's joint 0.

    Returns:
        np.ndarray: (N,) float64 mean per-joint distances in millimetres.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if aligned:
        b = align_w_scale(a, b)
    else:
        a, b = a - a[:, :1], b - b[:, :1]
    return np.linalg.norm(a - b, axis=-1).mean(-1) * 1000


def knn_pose_distance(f_query: np.ndarray,
                      f_gallery: np.ndarray,
                      xyz_query: np.ndarray,
                      xyz_gallery: np.ndarray,
                      k: int = 5,
                      aligned: bool = True) -> Dict[str, np.ndarray]:
    """Retrieve each query's ``k`` nearest gallery samples by cosine
    similarity of features and measure how far their poses are.

    Args:
        f_query, f_gallery: (M, C), (N, C) features.
        xyz_query, xyz_gallery: (M, J, 3), (N, J, 3) joints in metres.
        k: neighbours per query.
        aligned: measure the pose distance after Procrustes alignment
            (scale, rotation, translation; the pose itself), else
            root-relative (the pose in the camera's view, rotation included).

    Returns:
        dict: ``index`` (M, k) gallery indices, best first; ``distance``
        (M, k) mean per-joint distance in millimetres.
    """
    fq = F.normalize(torch.as_tensor(f_query, dtype=torch.float64), dim=1)
    fg = F.normalize(torch.as_tensor(f_gallery, dtype=torch.float64), dim=1)
    if fq.shape[1] != fg.shape[1]:
        raise ValueError(f'feature sizes differ: {fq.shape[1]} (query) and '
                         f'{fg.shape[1]} (gallery)')
    if k > len(fg):
        raise ValueError(f'k = {k} > {len(fg)} gallery samples')
    index = (fq @ fg.t()).topk(k, dim=1).indices.numpy()
    q = np.asarray(xyz_query, np.float64)
    g = np.asarray(xyz_gallery, np.float64)
    dist = pose_distance(
        np.repeat(q, k, axis=0), g[index.reshape(-1)],
        aligned).reshape(index.shape)
    return dict(index=index, distance=dist)


def partner_rank(f_a: np.ndarray, f_b: np.ndarray) -> np.ndarray:
    """For each row i of ``f_a``, the rank of its partner ``f_b[i]`` among
    all rows of ``f_b`` by cosine similarity (0: the partner is the nearest).

    Features are standardised with the mean and deviation of ``f_a`` first,
    so that no constant direction dominates the cosine. With ``f_a`` and
    ``f_b`` the features of two versions of the same hands, a rank near 0
    says the features describe the hand; a rank near ``len(f_b) / 2`` (the
    median of chance) says they describe the rest of the picture.

    Args:
        f_a, f_b: (N, C) features of the same N samples, row by row.

    Returns:
        np.ndarray: (N,) integer ranks in ``[0, N)``.
    """
    f_a = np.asarray(f_a, np.float64)
    f_b = np.asarray(f_b, np.float64)
    if f_a.ndim != 2 or f_a.shape != f_b.shape:
        raise ValueError(f'partner_rank: f_a and f_b must be (N, C) of the '
                         f'same shape, got {f_a.shape} and {f_b.shape}')
    mu, sd = f_a.mean(0), f_a.std(0) + 1e-6
    a = (f_a - mu) / sd
    b = (f_b - mu) / sd
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-12
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-12
    sim = a @ b.T
    return (sim > np.diag(sim)[:, None]).sum(1)


#: Where a perfectly equivariant encoder's latent points go: the latent
#: geometry's inverse of the loss's undo
#: (:func:`peclr_mm.models.utils.latent_geometry.apply_view_geometry`).
move_latent = apply_view_geometry


def latent_equivariance(proj0: torch.Tensor, proj: torch.Tensor,
                        theta: torch.Tensor,
                        shift: torch.Tensor) -> Dict[str, torch.Tensor]:
    """How a latent responds to a known rotation and shift of its image.

    Args:
        proj0: (B, D) raw projections of the untransformed views.
        proj: (B, D) raw projections of the same images rotated by ``theta``
            degrees and shifted by ``shift`` (fractions of the view size).

    Returns:
        dict of (B,) tensors, Euclidean distances between unit latents:
        ``moved`` (where the latent went from where it was), ``should``
        (where PeCLR's geometry puts it, :func:`move_latent`, from where it
        was), ``error`` (the view's latent with its geometry undone, as the
        loss undoes it, from the untransformed latent: 0 for a perfectly
        equivariant encoder) and ``invariance_error`` (``moved``: 0 for a
        perfectly invariant one).
    """
    q0 = F.normalize(proj0, dim=1)
    q = F.normalize(proj, dim=1)
    moved = (q - q0).norm(dim=1)
    should = (move_latent(proj0, theta, shift) - q0).norm(dim=1)
    error = (undo_view_geometry(proj, theta, shift) - q0).norm(dim=1)
    return dict(
        moved=moved, should=should, error=error, invariance_error=moved)
