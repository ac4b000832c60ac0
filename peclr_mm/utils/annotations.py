# Copyright (c) peclr_mm authors. All rights reserved.
"""FreiHAND's annotation files, read and checked (docs/design.md section 6).

``ROOT/{split}_{xyz,K,scale}.json`` of the FreiHAND layout: what the data
set reads for its samples and the metric for its mean-pose reference, so
both take them from here rather than from each other.
"""
import os.path as osp
from typing import List, Optional, Tuple, Union

import numpy as np

from .arrays import check_array
from .camera import check_intrinsics_batch
from .io import read_json

__all__ = ['load_freihand_annotations', 'select_subset', 'unit_problems']

#: Plausible depths of a hand's joints in the camera frame, metres.
DEPTH_RANGE = (0.05, 5.)
#: Plausible lengths of bone 9-10 (FreiHAND's ``scale``), metres: FreiHAND's
#: are about 2.5-4.5 cm, the real-world set's 4.9 cm on average.
BONE_RANGE = (0.005, 0.2)
#: ``scale`` may differ from ``|x9 - x10|`` by this fraction (FreiHAND's
#: files agree to float precision).
SCALE_TOLERANCE = 0.01
#: What a value 10**k times the plausible one most likely is in.
_UNITS = {
    3: 'millimetres (1000x metres)',
    2: 'centimetres (100x metres)',
    1: 'ten times metres (x10)',
    -1: 'a tenth of metres (x0.1)',
    -2: 'hundredths of metres (x0.01)',
    -3: 'thousandths of metres (x0.001)'
}


def _likely_unit(value: float, bounds: Tuple[float, float]) -> str:
    """The unit in which ``value`` (a typical entry) would be plausible
    metres, as ``'; likely millimetres (1000x metres)'``, or ``''``."""
    lo, hi = bounds
    mid = np.sqrt(lo * hi)
    for k in sorted(_UNITS, key=lambda k: abs(np.log10(value / mid) - k)):
        if lo <= value / 10.**k <= hi:
            return f'; likely {_UNITS[k]}'
    return ''


def _samples(bad: np.ndarray) -> str:
    """``'3 of 24 samples (e.g. 0, 5, 7)'`` for a boolean mask."""
    idx = np.flatnonzero(bad)
    some = ', '.join(str(i) for i in idx[:3])
    return (f'{len(idx)} of {len(bad)} samples (e.g. '
            f'{some}{", ..." if len(idx) > 3 else ""})')


def unit_problems(xyz: Optional[np.ndarray],
                  scale: np.ndarray,
                  xyz_file: str = 'xyz',
                  scale_file: str = 'scale') -> List[str]:
    """Unit checks of FreiHAND-layout annotations, one line per fault
    naming the file, the field and the likely unit: every joint depth
    within :data:`DEPTH_RANGE` metres, every ``scale`` within
    :data:`BONE_RANGE` metres and (with joints) equal to ``|x9 - x10|``
    (joints 9 and 10, 0-based) within :data:`SCALE_TOLERANCE`, as in
    FreiHAND's own files.

    Args:
        xyz: (N, 21, 3) joints, or None (camera-only labels).
        scale: (N,) bone lengths.
        xyz_file: the joints' file, for the message.
        scale_file: the bone lengths' file, for the message.

    Returns:
        list[str]: the faults (empty when the units are plausible).
    """
    problems = []
    if xyz is not None:
        z = xyz[..., 2]
        bad = ~((z >= DEPTH_RANGE[0]) & (z <= DEPTH_RANGE[1])).all(1)
        if bad.any():
            med = float(np.median(np.abs(z[bad])))
            problems.append(
                f'{xyz_file}: field xyz: joint depths are not plausible '
                f'metres ({DEPTH_RANGE[0]:g}-{DEPTH_RANGE[1]:g} m expected, '
                f'median {med:.4g}) in {_samples(bad)}'
                f'{_likely_unit(med, DEPTH_RANGE) if med > 0 else ""}')
    bad = ~((scale >= BONE_RANGE[0]) & (scale <= BONE_RANGE[1]))
    if bad.any():
        med = float(np.median(np.abs(scale[bad])))
        problems.append(
            f'{scale_file}: field scale: bone 9-10 lengths are not plausible '
            f'metres ({BONE_RANGE[0]:g}-{BONE_RANGE[1]:g} m expected, median '
            f'{med:.4g}) in {_samples(bad)}'
            f'{_likely_unit(med, BONE_RANGE) if med > 0 else ""}')
    if xyz is not None and not problems:
        bone = np.linalg.norm(xyz[:, 9] - xyz[:, 10], axis=-1)
        with np.errstate(all='ignore'):
            ratio = scale / bone
        bad = ~(np.abs(ratio - 1) <= SCALE_TOLERANCE)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            med = float(np.median(ratio[bad]))
            likely = ''
            k = int(np.round(np.log10(med))) if med > 0 else 0
            if k in _UNITS and abs(np.log10(med) - k) < 0.05:
                likely = f'; likely scale in {_UNITS[k]} of xyz\'s unit'
            problems.append(
                f'{scale_file}: field scale is not |x9 - x10| of '
                f'{xyz_file} (within {SCALE_TOLERANCE:.0%}) in '
                f'{_samples(bad)}: sample {i} has scale {scale[i]:.5g}, '
                f'|x9 - x10| {bone[i]:.5g} (ratio {med:.4g}){likely}')
    return problems


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
            a joint is at or behind the camera, a bone length is not
            positive, or the units are not metres (:func:`unit_problems`:
            joint depths or bone lengths implausible, ``scale`` not
            ``|x9 - x10|``; the likely unit named).
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
    problems = unit_problems(xyz, scale, paths.get('xyz', 'xyz'),
                             paths['scale'])
    if problems:
        raise ValueError(problems[0])
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
