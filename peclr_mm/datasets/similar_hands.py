# Copyright (c) peclr_mm authors. All rights reserved.
"""Mining similar hands (SiMHand, Lin et al., ICLR 2025): for every image,
the images whose hands have the most similar 2-D poses, so that a
contrastive pair can be two different images of alike hands.

A pose is described by its 21 2-D joints, wrist-centred and divided by the
2-D length of the palm (wrist to the middle finger's MCP, joints 0 and 9):
the description ignores where the hand is in the image and how large it
is, which the view pipeline changes anyway (crop, scale, shift), and keeps
the in-plane orientation and the articulation, which a positive pair
should share (PeCLR's equivariance undoes the rotations the pipeline adds,
not those between two different images). The palm is the most rigid 2-D
length of a hand; a degenerate palm (shorter than ``min_palm`` of the
mean palm) is replaced by that floor so that a foreshortened hand does not
blow its descriptor up. Distances are root-mean-square per-joint
distances between descriptors, in palm lengths (the Euclidean distance of
the flattened descriptors over sqrt(21)).

The nearest neighbours come from scikit-learn's ``NearestNeighbors``
(exact search on the flattened descriptors). :func:`mining_fingerprint`
names what a result depends on (the poses' values and the parameters), so
that an interrupted run continues only on the same content.
"""
import hashlib
import json
import os.path as osp
from typing import Callable, Dict, Optional

import numpy as np

__all__ = [
    'pose_descriptor', 'descriptor_distance', 'mine_similar_hands',
    'write_similar_hands', 'load_similar_hands', 'mining_fingerprint', 'PALM',
    'MIN_PALM'
]

#: The joints whose 2-D distance normalises a descriptor (wrist, middle
#: MCP).
PALM = (0, 9)
#: The smallest palm length used, as a fraction of the mean palm length.
MIN_PALM = 0.25


def pose_descriptor(uv: np.ndarray, min_palm: float = MIN_PALM) -> np.ndarray:
    """Wrist-centred, palm-normalised 2-D poses (see the module docstring).

    Args:
        uv: (N, 21, 2) joints in image pixels.
        min_palm: the smallest palm length used, as a fraction of the mean
            palm length of the N hands.

    Returns:
        np.ndarray: (N, 21, 2) float64 descriptors, in palm lengths.

    Raises:
        ValueError: ``uv`` is not (N, 21, 2) or not finite.
    """
    uv = np.asarray(uv, np.float64)
    if uv.ndim != 3 or uv.shape[1:] != (21, 2):
        raise ValueError(f'poses must be (N, 21, 2) pixels, got {uv.shape}')
    if not np.isfinite(uv).all():
        bad = np.flatnonzero(~np.isfinite(uv).all((1, 2)))
        raise ValueError(f'poses must be finite; pose(s) {bad[:5].tolist()} '
                         'are not')
    centred = uv - uv[:, :1]
    palm = np.linalg.norm(uv[:, PALM[1]] - uv[:, PALM[0]], axis=-1)
    floor = min_palm * max(float(palm.mean()), 1e-12)
    return centred / np.maximum(palm, floor)[:, None, None]


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The distance the mining ranks by: root-mean-square per-joint
    distance between pose descriptors, in palm lengths.

    Args:
        a, b: descriptors (..., 21, 2) of :func:`pose_descriptor`,
            broadcastable against each other.

    Returns:
        np.ndarray: the broadcast leading shape.
    """
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return np.sqrt((d**2).sum(-1).mean(-1))


def mine_similar_hands(
    uv: np.ndarray,
    k: int = 8,
    groups: Optional[np.ndarray] = None,
    chunk: int = 4096,
    done: Optional[Dict[str, np.ndarray]] = None,
    progress: Optional[Callable[[int, int, dict], None]] = None
) -> Dict[str, np.ndarray]:
    """Every pose's ``k`` most similar other poses.

    Args:
        uv: (N, 21, 2) joints in image pixels (labels, or a 2-D model's
            pseudo-labels).
        k: neighbours per pose.
        groups: (N,) ids of images that must not pair (e.g. the versions of
            one FreiHAND hand, which share the pose exactly); an image never
            pairs with itself either way.
        chunk: queries per step; after each step ``progress(done, total,
            partial)`` is called with the rows found so far.
        done: a partial result of an earlier call (``index`` and
            ``distance`` of its first rows), continued from its end.
        progress: see ``chunk``.

    Returns:
        dict: ``index`` (N, k) int64 neighbours nearest first, ``distance``
        (N, k) their root-mean-square per-joint distances in palm lengths.

    Raises:
        ValueError: fewer than ``k + 1`` poses can pair with some pose.
    """
    from sklearn.neighbors import NearestNeighbors
    desc = pose_descriptor(uv)
    n = len(desc)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if groups.shape != (n, ):
        raise ValueError(f'groups must be ({n},), got {groups.shape}')
    largest = int(np.unique(groups, return_counts=True)[1].max())
    if n - largest < k:
        raise ValueError(f'{n} poses in groups of up to {largest} leave '
                         f'fewer than k = {k} candidates to pair with')
    flat = desc.reshape(n, -1)
    # the query's own group (itself included) can take up to `largest` of
    # the nearest places: that many more candidates leave k
    n_cand = min(n, k + largest)
    index = np.zeros((n, k), np.int64)
    distance = np.zeros((n, k), np.float64)
    start = 0
    if done is not None:
        start = len(done['index'])
        index[:start], distance[:start] = done['index'], done['distance']
    tree = NearestNeighbors(n_neighbors=n_cand).fit(flat)
    scale = 1. / np.sqrt(desc.shape[1])
    for lo in range(start, n, chunk):
        rows = np.arange(lo, min(n, lo + chunk))
        dist, cand = tree.kneighbors(flat[rows])
        for r, d, c in zip(rows, dist, cand):
            keep = groups[c] != groups[r]
            index[r] = c[keep][:k]
            distance[r] = d[keep][:k] * scale
        if progress is not None:
            progress(
                rows[-1] + 1, n,
                dict(
                    index=index[:rows[-1] + 1],
                    distance=distance[:rows[-1] + 1]))
    return dict(index=index, distance=distance)


def mining_fingerprint(uv: np.ndarray,
                       k: int,
                       groups: Optional[np.ndarray] = None) -> str:
    """SHA-256 of everything :func:`mine_similar_hands`' rows depend on: the
    poses' values (float64, little-endian, with their shape), ``k``, the
    groups, and the descriptor's parameters (``PALM``, ``MIN_PALM``). Equal
    fingerprints mean equal results; the file the poses came from, its
    formatting and the chunk size do not count.

    Args:
        uv: (N, 21, 2) joints in image pixels.
        k: neighbours per pose.
        groups: (N,) ids of images that must not pair, or None.

    Returns:
        str: 64 hexadecimal digits.
    """
    uv = np.ascontiguousarray(uv, '<f8')
    params = dict(
        descriptor='wrist-centred, palm-normalised 2-D joints',
        palm=list(PALM),
        min_palm=MIN_PALM,
        k=int(k),
        shape=list(uv.shape))
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    digest.update(uv.tobytes())
    if groups is not None:
        digest.update(b'groups')
        digest.update(np.ascontiguousarray(groups, '<i8').tobytes())
    return digest.hexdigest()


def write_similar_hands(path: str, mined: Dict[str, np.ndarray],
                        **meta) -> None:
    """Write ``mined`` (and ``meta``, e.g. the source of the 2-D poses) to
    an ``.npz`` file atomically (:func:`peclr_mm.utils.io.atomic_write`).

    Args:
        path: the ``.npz`` file.
        mined: :func:`mine_similar_hands`' result (a partial one too).
        **meta: strings or numbers stored beside it; ``num_images`` (the
            data set's image count) lets a partial result be checked.
    """
    from ..utils.io import atomic_write

    def write(tmp: str) -> None:
        with open(tmp, 'wb') as f:  # a file object: no '.npz' appended
            np.savez(
                f,
                index=mined['index'],
                distance=mined['distance'],
                **{
                    k: np.asarray(v)
                    for k, v in meta.items()
                })

    atomic_write(path, write)


def load_similar_hands(path: str,
                       num_images: Optional[int] = None,
                       k: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Read a file of :func:`write_similar_hands`, checked.

    Args:
        path: the ``.npz`` file.
        num_images: the data set's image count it must cover; None skips
            the check.
        k: the neighbours per image it must hold at least; None skips it.

    Returns:
        dict: ``index`` (N, k), ``distance`` (N, k) and the stored metadata.

    Raises:
        FileNotFoundError, ValueError: naming the file and the field.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'similar-hands file {path} does not exist '
                                '(tools/mine_similar_hands.py writes it)')
    with np.load(path, allow_pickle=False) as f:
        out = {key: f[key] for key in f.files}
    for key in ('index', 'distance'):
        if key not in out or out[key].ndim != 2:
            raise ValueError(f'{path}: field {key!r} must be an (N, k) '
                             'array')
    index = out['index']
    if num_images is not None and len(index) != num_images:
        raise ValueError(f'{path}: {len(index)} rows of neighbours for a '
                         f'data set of {num_images} images (mined for '
                         'another split or an unfinished run?)')
    if k is not None and index.shape[1] < k:
        raise ValueError(f'{path}: {index.shape[1]} neighbours per image, '
                         f'{k} needed')
    # a partial file (an interrupted run) says how many images it is for
    bound = int(out['num_images']) if 'num_images' in out else len(index)
    if index.size and (index.min() < 0 or index.max() >= bound):
        raise ValueError(f'{path}: field index holds ids outside '
                         f'[0, {bound})')
    return out
