# Copyright (c) peclr_mm authors. All rights reserved.
"""FreiHAND's annotation files, read and checked (docs/design.md section 6).

``ROOT/{split}_{xyz,K,scale}.json`` of the FreiHAND layout: what the data
set reads for its samples and the metric for its mean-pose reference, so
both take them from here rather than from each other.
"""
import os.path as osp
from typing import Optional, Tuple, Union

import numpy as np

from .arrays import check_array
from .camera import check_intrinsics_batch
from .io import read_json

__all__ = ['load_freihand_annotations', 'select_subset']


def _read_json(path: str, what: str):
    return read_json(path, f'the FreiHAND {what}')


def load_freihand_annotations(data_root: str,
                              split: str,
                              ann_root: Optional[str] = None,
                              with_xyz: bool = True,
                              image_size: Optional[Tuple[int,
                                                         int]] = None) -> dict:
    """Read and check ``{split}_{xyz,K,scale}.json``.

    Each file is looked for in ``ann_root`` first (when given), then in
    ``data_root``: FreiHAND ships the evaluation joints
    (``evaluation_xyz.json``) in a separate archive,
    ``FreiHAND_pub_v2_eval.zip``, often unpacked into its own folder, while
    ``evaluation_K.json`` and ``evaluation_scale.json`` come with the images.
    ``with_xyz=False`` reads the camera and scale only (the public
    evaluation split as the submission server sees it); ``xyz`` is then
    ``None``. Every ``K`` is checked (finite, invertible, positive focal
    lengths, last row ``[0, 0, 1]`` and, given the images' ``image_size``
    (W, H), plausible for it), the first bad one refused naming the file,
    the field and the sample.

    Args:
        data_root: the data set's folder, holding ``{split}_*.json``.
        split: ``'training'`` or ``'evaluation'``.
        ann_root: a folder searched before ``data_root`` for each file
            (e.g. the unpacked ``FreiHAND_pub_v2_eval.zip``); ``None`` for
            none.
        with_xyz: read ``{split}_xyz.json`` too.
        image_size: (W, H) of the images in pixels, to check each ``K``
            against; ``None`` skips that check.

    Returns:
        dict: ``xyz`` (N, 21, 3) metres in the camera frame (``None``
        without ``with_xyz``), ``K`` (N, 3, 3) pixels, ``scale`` (N,)
        bone 9-10 lengths in metres.

    Raises:
        FileNotFoundError: a json file is missing.
        ValueError: ``split`` is unknown, a field has the wrong shape, a
            non-finite value or a bad ``K``, the files disagree in length,
            a joint is at or behind the camera, or a bone length is not
            positive.
    """
    if split not in ('training', 'evaluation'):
        raise ValueError(
            f"split must be 'training' or 'evaluation', got {split!r}")
    roots = [r for r in (ann_root, data_root) if r]
    paths = {}
    keys = ('xyz', 'K', 'scale') if with_xyz else ('K', 'scale')
    for key in keys:
        found = [
            osp.join(r, f'{split}_{key}.json') for r in roots
            if osp.isfile(osp.join(r, f'{split}_{key}.json'))
        ]
        if not found and len(roots) > 1:
            raise FileNotFoundError(
                f'FreiHAND annotation file {split}_{key}.json is missing: '
                f'looked in ann_root {ann_root} and data_root {data_root}')
        paths[key] = found[0] if found else osp.join(data_root,
                                                     f'{split}_{key}.json')
    xyz = None if not with_xyz else check_array(
        _read_json(paths['xyz'], '3-D joints, N x 21 x 3 metres'),
        f'{paths["xyz"]}: field xyz', (21, 3))
    K = check_array(
        _read_json(paths['K'], 'intrinsics, N x 3 x 3'),
        f'{paths["K"]}: field K', (3, 3))
    check_intrinsics_batch(K, f'{paths["K"]}: field K', image_size)
    scale = check_array(
        _read_json(paths['scale'], 'bone 9-10 lengths, N floats'),
        f'{paths["scale"]}: field scale', ())
    lengths = {
        key: len(val)
        for key, val in (('xyz', xyz), ('K', K), ('scale', scale))
        if val is not None
    }
    if len(set(lengths.values())) != 1:
        raise ValueError('FreiHAND annotation files disagree in length: ' +
                         ', '.join(f'{paths[k]} has {n}'
                                   for k, n in lengths.items()))
    if xyz is not None and np.any(xyz[..., 2] <= 0):
        bad = int(np.argwhere(xyz[..., 2] <= 0)[0, 0])
        raise ValueError(f'{paths["xyz"]}: sample {bad} has a joint at or '
                         'behind the camera (z <= 0); xyz must be metres in '
                         'the camera frame')
    if np.any(scale <= 0):
        raise ValueError(f'{paths["scale"]}: bone lengths must be positive')
    return dict(xyz=xyz, K=K, scale=scale)


def select_subset(num: int,
                  subset: Optional[Union[int, float]] = None,
                  seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``num`` annotations.

    Args:
        num: number of annotations.
        subset: how many to keep (int) or which fraction (float in (0, 1]);
            None keeps all.
        seed: seed of the draw, so label-scarce experiments repeat.
    """
    if subset is None:
        return np.arange(num)
    if isinstance(subset, float):
        if not 0 < subset <= 1:
            raise ValueError(
                f'subset fraction must be in (0, 1], got {subset}')
        count = max(1, int(round(subset * num)))
    else:
        count = int(subset)
        if not 0 < count <= num:
            raise ValueError(f'subset count must be in 1..{num}, got '
                             f'{subset}')
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num, size=count, replace=False))
