# Copyright (c) peclr_mm authors. All rights reserved.
"""The per-view geometry a multi-view sample carries, named once
(docs/design.md section 3).

A view made by ``MultiViewWithGeometry`` holds its image and its geometry
under :data:`VIEW_GEOMETRY` (``theta`` rotation in degrees, ``s``
magnification, ``shift`` content translation as a fraction of the view
size, ``warp_mat`` the 2x3 warp from the source image); the packer stores
view ``v`` of key ``k`` at ``metainfo['view_' + k][v]``
(:func:`pack_view_geometry`) and the model reads them back as ``(B, V,
...)`` tensors (:func:`stack_view_geometry`).
"""
from typing import Dict, Sequence

import numpy as np

__all__ = [
    'VIEW_GEOMETRY', 'VIEW_OPTIONAL', 'VIEW_KEYS', 'view_meta_key',
    'pack_view_geometry', 'stack_view_geometry'
]

#: A view's geometry, as the transforms record it.
VIEW_GEOMETRY = ('theta', 's', 'shift', 'warp_mat')
#: Per-view keys packed when every view has them: ``pose_2d`` (21, 2), the
#: view's hand as a pose descriptor (``LoadSimilarHand``), for the
#: pose-distance weights of the loss.
VIEW_OPTIONAL = ('pose_2d', )
#: What ``MultiViewWithGeometry`` keeps of each view's pipeline output.
VIEW_KEYS = ('img', ) + VIEW_GEOMETRY + VIEW_OPTIONAL


def view_meta_key(key: str) -> str:
    """The metainfo name of the per-view ``key`` (``'view_' + key``)."""
    return f'view_{key}'


def pack_view_geometry(views: Sequence[dict]) -> Dict[str, np.ndarray]:
    """The metainfo of a sample's views: each of :data:`VIEW_GEOMETRY`
    stacked over the views, float32 (``view_theta`` (V,), ``view_s`` (V,),
    ``view_shift`` (V, 2), ``view_warp_mat`` (V, 2, 3)), and each of
    :data:`VIEW_OPTIONAL` that every view has (``view_pose_2d`` (V, 21,
    2)).

    Raises:
        KeyError: a view lacks a key; names it.
    """
    out = {}
    for key in VIEW_GEOMETRY:
        missing = [i for i, v in enumerate(views) if key not in v]
        if missing:
            raise KeyError(
                f'view {missing[0]} has no {key!r}: the view '
                'pipeline must record its geometry (RandomSimilarity '
                '+ WarpView)')
        out[view_meta_key(key)] = np.stack(
            [np.asarray(v[key], np.float32) for v in views])
    for key in VIEW_OPTIONAL:
        if all(key in v for v in views):
            out[view_meta_key(key)] = np.stack(
                [np.asarray(v[key], np.float32) for v in views])
    return out


def stack_view_geometry(data_samples: Sequence, keys: Sequence[str], device):
    """``{key: (B, V, ...) float32 tensor}`` of a batch's per-view ``keys``
    from the samples' metainfo.

    Args:
        data_samples: the batch's B data samples, each with the metainfo
            ``view_KEY`` of :func:`pack_view_geometry` (V views).
        keys: the per-view keys to read, e.g. :data:`VIEW_GEOMETRY`.
        device: the device of the tensors.

    Returns:
        dict: a (B, V, ...) float32 tensor for each key (``theta`` and
        ``s`` (B, V), ``shift`` (B, V, 2), ``warp_mat`` (B, V, 2, 3)).

    Raises:
        KeyError: a sample lacks one; says how views are packed.
    """
    import torch
    out = {}
    for key in keys:
        name = view_meta_key(key)
        try:
            values = np.stack([s.metainfo[name] for s in data_samples])
        except KeyError as exc:
            raise KeyError(
                f'data sample has no {name!r}: pack the views '
                'with MultiViewWithGeometry + PackPeCLRInputs') from exc
        out[key] = torch.from_numpy(values.astype(np.float32)).to(device)
    return out
