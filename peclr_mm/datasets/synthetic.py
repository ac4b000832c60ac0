# Copyright (c) peclr_mm authors. All rights reserved.
"""Synthetic hands written in the FreiHAND layout (DESIGN.md section 6).

FreiHAND cannot be downloaded on the project's machines, so its readers,
transforms and tools are exercised on a stand-in that has exactly its file
layout::

    OUT/training/rgb/%08d.jpg        V versions of N samples; image k + N*v
    OUT/training_{xyz,K,scale}.json  shares annotation k
    OUT/evaluation/rgb/%08d.jpg      M samples, one version
    OUT/evaluation_{xyz,K,scale}.json

A hand is a 21-joint kinematic chain (FreiHAND joint order, metres, camera
frame) with adult bone lengths, a random size, joint limits and articulation
drawn for each finger on its own, so knowing where the hand is says little
about its pose. It is drawn as depth-ordered, outlined capsules and a palm
slab over cluttered backgrounds. Versions of one sample share the geometry
(xyz, K and hence the hand mask) and differ in background, skin colour,
lighting, blur and noise.

Every sample draws from its own generator seeded by ``(seed, split, k)``
(and the version for its appearance), so the output does not depend on how
the work is split across processes. This module needs only NumPy and OpenCV,
so it runs without the OpenMMLab stack.
"""
import json
import multiprocessing
import os
import os.path as osp
import re
import shutil
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np

__all__ = ['generate_freihand', 'sample_hand', 'render_hand']

IMG_SIZE = 224
NUM_JOINTS = 21
FOCAL_RANGE = (200.0, 1100.0)
ROOT_DEPTH_RANGE = (0.4, 1.0)
JPEG_QUALITY = 90
_SPLITS = (('training', 0), ('evaluation', 1))
# Stream tags of the per-sample seeds: geometry, appearance of version v.
# (SeedSequence pads short entropy with zeros, so the streams need a tag.)
_GEOMETRY, _APPEARANCE = 0, 1

# Hand frame of the kinematic model: origin at the wrist (joint 0), x
# towards the thumb, y from the wrist to the middle finger, z out of the
# palm (a right hand). Lengths in metres for a hand of size 1.
_MCP = np.array([[0.024, 0.086, 0.0], [0.003, 0.089, 0.0],
                 [-0.016, 0.083, 0.0], [-0.032, 0.073, 0.0]])
# Proximal, middle, distal phalanx (joint centre to joint centre, the
# distal one to the finger tip) of index, middle, ring, little finger.
_PHALANGES = np.array([[0.040, 0.024, 0.022], [0.045, 0.028, 0.024],
                       [0.042, 0.027, 0.023], [0.033, 0.020, 0.021]])
# Rest spread of the fingers in degrees, positive towards the thumb.
_SPLAY = np.array([8.0, 1.0, -6.0, -14.0])
_THUMB_CMC = np.array([0.020, 0.022, 0.006])
_THUMB_BONES = np.array([0.044, 0.032, 0.029])
_REF_BONE = 0.045  # length of bone 9-10 at size 1

# Drawing: bones as (parent, child, radius in metres at size 1, is tip).
_FINGER_RADII = np.array([0.0095, 0.0085, 0.0077])
_FINGER_WIDTH = np.array([1.0, 1.05, 0.97, 0.85])
_BONES = [
    (0, 1, 0.016, False), (1, 2, 0.0125, False), (2, 3, 0.0105, False),
    (3, 4, 0.0095, True)
] + [(5 + 4 * f + i, 6 + 4 * f + i, float(
    _FINGER_RADII[i] * _FINGER_WIDTH[f]), i == 2) for f in range(4)
     for i in range(3)]
_PALM_HALF_THICKNESS = 0.011
_SHIFT = 4  # fixed-point bits of the OpenCV drawing calls
_ONE = 1 << _SHIFT

# Skin palette (BGR), light to dark; a tone is drawn between neighbours.
_SKIN = np.array([[196, 224, 255], [160, 190, 235], [140, 172, 224],
                  [100, 140, 200], [66, 134, 198], [50, 95, 160],
                  [36, 85, 141], [37, 56, 90]],
                 dtype=np.float64)
_NOISE_TILE: Optional[np.ndarray] = None


def _rot(axis: int, deg: float) -> np.ndarray:
    """Right-handed rotation by ``deg`` degrees about coordinate ``axis``."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    mat = np.eye(3)
    mat[i, i] = mat[j, j] = c
    mat[i, j], mat[j, i] = -s, s
    return mat


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotation matrix (from a random unit
    quaternion)."""
    w, x, y, z = rng.normal(size=4)
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
         [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
         [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _curl(rng: np.random.Generator) -> float:
    """How far a finger is bent, 0 (straight) to 1 (fist); a mixture so
    that open, closed and in-between fingers are all common."""
    u = rng.random()
    if u < 0.25:
        return rng.uniform(0.0, 0.15)
    if u < 0.45:
        return rng.uniform(0.75, 1.0)
    return rng.uniform(0.0, 1.0)


def _articulate(rng: np.random.Generator, size: float) -> np.ndarray:
    """Joints (21, 3) of a randomly posed hand in the hand frame."""
    xyz = np.zeros((NUM_JOINTS, 3))
    jitter = lambda shape: rng.uniform(0.95, 1.05, shape)  # noqa: E731
    # Thumb: CMC (joint 1) has two degrees of freedom, MCP and IP flex.
    # Its rest frame is turned out of the finger plane so that flexing
    # curls it across the palm.
    xyz[1] = size * (_THUMB_CMC + rng.normal(0.0, 0.002, 3))
    bones = size * _THUMB_BONES * jitter(3)
    c = _curl(rng)
    cmc_flex = np.clip(-10 + 45 * c + rng.normal(0, 10), -25, 55)
    cmc_abd = rng.uniform(-25, 20)
    mcp = np.clip(60 * c + rng.normal(0, 10), -10, 70)
    ip = np.clip(80 * c + rng.normal(0, 12), -20, 90)
    frame = _rot(2, -40) @ _rot(1, -50) @ _rot(2, cmc_abd) @ _rot(0, cmc_flex)
    for j, (flex, length) in enumerate(zip((0.0, mcp, ip), bones)):
        frame = frame @ _rot(0, flex)
        xyz[2 + j] = xyz[1 + j] + frame[:, 1] * length
    # Fingers: MCP flexes and spreads, PIP and DIP flex.
    for f in range(4):
        base = 5 + 4 * f
        xyz[base] = size * (_MCP[f] + rng.normal(0.0, [0.002, 0.002, 0.003]))
        bones = size * _PHALANGES[f] * jitter(3)
        c = _curl(rng)
        mcp = np.clip(85 * c + rng.normal(0, 12), -25, 95)
        pip = np.clip(105 * c + rng.normal(0, 15), -5, 115)
        dip = np.clip(0.65 * pip + rng.normal(0, 12), -10, 85)
        # Spread narrows as the finger bends (collateral ligaments).
        abd = (_SPLAY[f] + np.clip(rng.normal(0, 8), -20, 20)) * (1 - 0.6 * c)
        frame = _rot(2, -abd)
        for j, (flex, length) in enumerate(zip((mcp, pip, dip), bones)):
            frame = frame @ _rot(0, flex)
            xyz[base + 1 + j] = xyz[base + j] + frame[:, 1] * length
    return xyz


def _project(xyz: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``uv = (K @ X.T).T; uv = uv[:, :2] / uv[:, 2:]``."""
    uvw = xyz @ K.T
    return uvw[:, :2] / uvw[:, 2:]


def sample_hand(rng: np.random.Generator,
                size: int = IMG_SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """Draw a posed hand and a camera that frames it like a FreiHAND crop.

    The root (wrist) lies 0.4 to 1.0 m from the camera; the focal length
    (200 to 1100 px) is chosen with the depth so that the hand spans about
    75 to 190 px, with its box centre up to 25 px off the image centre and
    every joint inside the image.

    Args:
        rng (np.random.Generator): the sample's generator.
        size (int): image size in pixels; the principal point is its
            centre. Defaults to 224.

    Returns:
        tuple: ``xyz`` (21, 3) float64 joints in metres, camera frame,
        FreiHAND order, and ``K`` (3, 3) float64 intrinsics.
    """
    hand_size = rng.uniform(0.85, 1.15)
    joints = _articulate(rng, hand_size) @ _random_rotation(rng).T
    root_z = rng.uniform(*ROOT_DEPTH_RANGE)
    span = rng.uniform(75.0, 190.0)
    offset = rng.uniform(-1.0, 1.0, 2)
    centre = (size - 1) / 2.0 if size % 2 else size / 2.0
    extent = np.ptp(joints[:, :2], axis=0).max()
    margin = 4.0
    for _ in range(20):
        focal = float(np.clip(span * root_z / extent, *FOCAL_RANGE))
        K = np.array([[focal, 0.0, centre], [0.0, focal, centre],
                      [0.0, 0.0, 1.0]])
        xyz = joints + [0.0, 0.0, root_z]
        z_mid = root_z + joints[:, 2].mean()
        room = max(0.0, min(25.0, size / 2.0 - margin - span / 2.0))
        target = centre + offset * room
        for _ in range(3):  # move the box centre onto the target
            uv = _project(xyz, K)
            mid = (uv.min(axis=0) + uv.max(axis=0)) / 2.0
            xyz[:, :2] += (target - mid) * z_mid / focal
        uv = _project(xyz, K)
        if uv.min() >= margin and uv.max() <= size - margin:
            break
        span *= 0.9
    return xyz, K


class _Layout(NamedTuple):
    """A hand drawn as labels: ``3 i + 1, 2, 3`` are the outline, body and
    highlight of primitive i (far to near); 0 is background."""
    labels: np.ndarray
    kinds: List[str]  # 'palm' or 'bone'
    axes: np.ndarray  # (P, 3) bone direction or palm normal (camera frame)
    depths: np.ndarray  # (P,) mean depth
    palm_front: bool  # the palm (not the back) faces the camera


def _fixed(pts: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(pts) * _ONE).astype(np.int32)


def _capsule(img: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: float,
             r1: float, value: int) -> None:
    """Fill a tapered capsule: discs of radius r0, r1 joined by a
    quadrilateral."""
    for p, r in ((p0, r0), (p1, r1)):
        cv2.circle(img, tuple(_fixed(p).tolist()), int(round(r * _ONE)), value,
                   -1, cv2.LINE_8, _SHIFT)
    d = p1 - p0
    length = float(np.hypot(d[0], d[1]))
    if length > 1e-6:
        n = np.array([-d[1], d[0]]) / length
        quad = np.stack([p0 + n * r0, p1 + n * r1, p1 - n * r1, p0 - n * r0])
        cv2.fillConvexPoly(img, _fixed(quad), value, cv2.LINE_8, _SHIFT)


def _layout(xyz: np.ndarray, K: np.ndarray, size: int) -> _Layout:
    """Draw the hand's silhouette parts in painter's order into a label
    map. Depends on the geometry only, so all versions of a sample share
    it."""
    xyz = np.asarray(xyz, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    uv = _project(xyz, K)
    focal = (K[0, 0] + K[1, 1]) / 2.0
    scale = np.linalg.norm(xyz[9] - xyz[10]) / _REF_BONE
    side = xyz[5] - xyz[17]
    side /= np.linalg.norm(side) + 1e-12
    normal = np.cross(side, xyz[9] - xyz[0])
    normal /= np.linalg.norm(normal) + 1e-12
    prims = []  # (depth, kind, axis, draw(img, value, grow, shrink))

    rim = np.stack([
        xyz[0] + side * 0.022 * scale, xyz[0] - side * 0.026 * scale,
        xyz[5] + side * 0.008 * scale, xyz[9], xyz[13],
        xyz[17] - side * 0.009 * scale, xyz[1]
    ])
    slab = np.concatenate([
        rim + normal * _PALM_HALF_THICKNESS * scale,
        rim - normal * _PALM_HALF_THICKNESS * scale
    ])
    hull = cv2.convexHull(_project(slab, K).astype(np.float32))[:, 0]
    centroid = hull.mean(axis=0)

    def palm(img, value, grow, shrink):
        # Shrink the hull towards its centroid for the highlight.
        pts = centroid + (hull - centroid) * shrink
        if grow:
            radial = pts - centroid
            radial /= np.linalg.norm(radial, axis=1, keepdims=True) + 1e-9
            pts = pts + radial * grow
        cv2.fillConvexPoly(img, _fixed(pts), value, cv2.LINE_8, _SHIFT)

    prims.append((xyz[[0, 1, 5, 9, 13, 17], 2].mean(), 'palm', normal, palm))
    for a, b, radius, tip in _BONES:
        r0 = radius * scale * focal / xyz[a, 2]
        r1 = radius * scale * focal / xyz[b, 2]
        p0, p1 = uv[a].copy(), uv[b].copy()
        if tip:  # the tip joint is the end of the finger, not its cap centre
            d = p1 - p0
            length = float(np.hypot(d[0], d[1]))
            if length > 1e-6:
                p1 -= d / length * min(0.85 * r1, length)
        axis = xyz[b] - xyz[a]
        axis /= np.linalg.norm(axis) + 1e-12

        def bone(img, value, grow, shrink, p0=p0, p1=p1, r0=r0, r1=r1):
            _capsule(img, p0, p1, r0 * shrink + grow, r1 * shrink + grow,
                     value)

        prims.append(((xyz[a, 2] + xyz[b, 2]) / 2.0, 'bone', axis, bone))

    prims.sort(key=lambda p: -p[0])  # far first
    labels = np.zeros((size, size), np.uint8)
    for i, (_, _, _, draw) in enumerate(prims):
        draw(labels, 3 * i + 1, 1.0, 1.0)
        draw(labels, 3 * i + 2, 0.0, 1.0)
        draw(labels, 3 * i + 3, 0.0, 0.35)
    palm_centre = xyz[[0, 5, 9, 13, 17]].mean(axis=0)
    return _Layout(labels, [p[1] for p in prims],
                   np.stack([p[2] for p in prims]),
                   np.array([p[0] for p in prims]),
                   bool(np.dot(normal, palm_centre) < 0))


def _noise_tile() -> np.ndarray:
    """A fixed 512x512x3 Gaussian noise tile (centred at 128) that images
    crop their grain and textures from; cheaper than fresh noise."""
    global _NOISE_TILE
    if _NOISE_TILE is None:
        rng = np.random.default_rng(20210611)
        _NOISE_TILE = np.clip(rng.normal(128, 40, (512, 512, 3)), 0,
                              255).astype(np.uint8)
    return _NOISE_TILE


def _crop_noise(rng: np.random.Generator, out: int, crop: int) -> np.ndarray:
    tile = _noise_tile()
    y, x = rng.integers(0, tile.shape[0] - crop + 1, 2)
    patch = tile[y:y + crop, x:x + crop]
    if crop != out:
        patch = cv2.resize(patch, (out, out), interpolation=cv2.INTER_LINEAR)
    return patch


def _skin_tone(rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0, len(_SKIN) - 1)
    i = min(int(t), len(_SKIN) - 2)
    tone = _SKIN[i] + (t - i) * (_SKIN[i + 1] - _SKIN[i])
    return np.clip(tone + rng.normal(0, 8, 3), 0, 255)


def _background(rng: np.random.Generator, size: int,
                skin: np.ndarray) -> np.ndarray:
    """Smooth random colour field, textures and clutter."""
    grid = int(rng.choice([2, 3, 5, 9]))
    colours = rng.uniform(0, 255, (grid, grid, 3))
    if rng.random() < 0.1:  # skin-coloured surroundings: the hard case
        colours = colours * 0.3 + skin * 0.7
    img = cv2.resize(
        colours.astype(np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.4:
        texture = _crop_noise(rng, size, int(rng.integers(16, 96)))
        amp = rng.uniform(0.2, 0.8)
        img = cv2.addWeighted(img, 1.0, texture, amp, -128 * amp)
    for _ in range(int(rng.integers(2, 14))):
        colour = rng.uniform(0, 255, 3)
        if rng.random() < 0.15:
            colour = np.clip(skin + rng.normal(0, 15, 3), 0, 255)
        colour = tuple(float(c) for c in colour)
        thick = -1 if rng.random() < 0.6 else int(rng.integers(1, 8))
        centre = tuple(int(c) for c in rng.integers(-20, size + 20, 2))
        kind = rng.integers(0, 5)
        if kind == 0:
            corner = tuple(int(c) for c in rng.integers(-20, size + 20, 2))
            cv2.rectangle(img, centre, corner, colour, thick)
        elif kind == 1:
            cv2.circle(img, centre, int(rng.integers(3, 60)), colour, thick)
        elif kind == 2:
            axes = tuple(int(a) for a in rng.integers(3, 70, 2))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                        colour, thick)
        elif kind == 3:
            end = tuple(int(c) for c in rng.integers(-20, size + 20, 2))
            cv2.line(img, centre, end, colour, int(rng.integers(1, 16)))
        else:
            pts = rng.integers(-20, size + 20, (int(rng.integers(3, 7)), 2))
            cv2.fillPoly(img, [pts.astype(np.int32)], colour)
    if rng.random() < 0.3:  # out of focus
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 3.0))
    return img


def _paint(layout: _Layout, rng: np.random.Generator) -> np.ndarray:
    """Colour a label map over a fresh background: one appearance
    (version)."""
    size = layout.labels.shape[0]
    glove = rng.random() < 0.08
    skin = rng.uniform(20, 235, 3) if glove else _skin_tone(rng)
    img = _background(rng, size, skin)
    palm_side = np.clip(skin * 1.06 + [10, 12, 18], 0, 255)
    light = rng.normal(size=3) + [0.0, 0.0, -1.5]  # towards the light
    light /= np.linalg.norm(light)
    ambient = rng.uniform(0.35, 0.65)
    diffuse = (1.0 - ambient) * rng.uniform(0.8, 1.2)
    depth_gain = rng.uniform(0.0, 4.0)  # per metre nearer than the mean
    outline_gain = rng.uniform(0.4, 0.7)
    lut = np.zeros((256, 3))
    mid = layout.depths.mean()
    for i, (kind, axis,
            depth) in enumerate(zip(layout.kinds, layout.axes, layout.depths)):
        if kind == 'palm':
            colour = palm_side if layout.palm_front else skin
            lit = abs(float(np.dot(axis, light)))
        else:
            colour = skin
            lit = np.sqrt(max(0.0, 1.0 - float(np.dot(axis, light))**2))
        body = colour * (ambient + diffuse * lit) * (1.0 + depth_gain *
                                                     (mid - depth))
        lut[3 * i + 1] = body * outline_gain
        lut[3 * i + 2] = body
        lut[3 * i + 3] = body * 1.12 + 10
    lut = np.clip(lut, 0, 255).astype(np.uint8).reshape(1, 256, 3)
    hand = cv2.LUT(cv2.merge([layout.labels] * 3), lut)
    cv2.copyTo(hand, layout.labels, img)
    grain = _crop_noise(rng, size, size)
    amp = rng.uniform(0.03, 0.2)
    img = cv2.addWeighted(img, 1.0, grain, amp, -128 * amp)
    img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.4, 1.0))
    return cv2.convertScaleAbs(
        img, alpha=rng.uniform(0.8, 1.2), beta=rng.uniform(-20, 20))


def render_hand(xyz: np.ndarray,
                K: np.ndarray,
                rng: np.random.Generator,
                size: int = IMG_SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """Draw a hand over a random background.

    Finger bones are tapered capsules whose width follows the bone radius,
    the depth and the focal length, the palm a slab around the wrist and the
    knuckles; parts are painted far to near, each with a darker outline
    and a lighter centre, shaded by a random light and by depth.

    Args:
        xyz (np.ndarray): (21, 3) joints in metres, camera frame.
        K (np.ndarray): (3, 3) intrinsics.
        rng (np.random.Generator): draws the appearance (background,
            colours, lighting); the hand's shape depends on xyz and K only.
        size (int): image size. Defaults to 224.

    Returns:
        tuple: ``img`` (size, size, 3) uint8 BGR and ``mask`` (size, size)
        uint8, 255 on hand pixels and 0 elsewhere.
    """
    layout = _layout(xyz, K, size)
    mask = np.where(layout.labels > 0, 255, 0).astype(np.uint8)
    return _paint(layout, rng), mask


def _rng(seed: int, split_id: int, k: int, *stream: int):
    return np.random.default_rng([seed, split_id, k, *stream])


def _round(xyz: np.ndarray, K: np.ndarray):
    """The values as stored: what the images are rendered from."""
    return np.round(xyz, 7), np.round(K, 4)


def _work(job: tuple) -> Tuple[int, np.ndarray, np.ndarray]:
    """Generate samples ``start:stop`` of a split with all their versions;
    returns (start, xyz, K)."""
    root, split, split_id, start, stop, num, versions, seed, quality = job
    folder = osp.join(root, split, 'rgb')
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    xyzs, Ks = [], []
    for k in range(start, stop):
        xyz, K = _round(*sample_hand(_rng(seed, split_id, k, _GEOMETRY)))
        layout = _layout(xyz, K, IMG_SIZE)
        for v in range(versions):
            img = _paint(layout, _rng(seed, split_id, k, _APPEARANCE, v))
            ok, buf = cv2.imencode('.jpg', img, params)
            if not ok:
                raise RuntimeError(f'JPEG encoding failed for sample {k}')
            with open(osp.join(folder, f'{k + num * v:08d}.jpg'), 'wb') as f:
                f.write(buf.tobytes())
        xyzs.append(xyz)
        Ks.append(K)
    return start, np.array(xyzs).reshape(-1, 21,
                                         3), np.array(Ks).reshape(-1, 3, 3)


def _pool(workers: int):
    """A process pool; forked where possible, so workers need not import
    the package again."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context('fork' if 'fork' in methods else None)
    # OpenCV's thread pool does not survive a fork (a forked child that
    # touches it can wait forever), so fork while OpenCV is single-threaded
    # and the workers never use it.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return ctx.Pool(workers)
    finally:
        cv2.setNumThreads(threads)


#: Written into every set (and every partial set) this generator makes:
#: ``--overwrite`` replaces only folders that carry it.
MARKER = '.peclr_mm_synthetic.json'
_TOP_LEVEL = {MARKER, 'training', 'evaluation'} | {
    f'{split}_{what}.json'
    for split, _ in _SPLITS
    for what in ('xyz', 'K', 'scale')
}
_IMAGE_RE = re.compile(r'^\d{8}\.jpg$')


def _foreign_entries(out_dir: str, limit: int = 5) -> List[str]:
    """Entries of ``out_dir`` that this generator does not write."""
    foreign = [e for e in sorted(os.listdir(out_dir)) if e not in _TOP_LEVEL]
    for split, _ in _SPLITS:
        folder = osp.join(out_dir, split)
        if not osp.isdir(folder) or osp.islink(folder):
            continue
        foreign += [
            osp.join(split, e) for e in sorted(os.listdir(folder))
            if e != 'rgb'
        ]
        rgb = osp.join(folder, 'rgb')
        if osp.isdir(rgb) and not osp.islink(rgb):
            foreign += [
                osp.join(split, 'rgb', e) for e in sorted(os.listdir(rgb))
                if not _IMAGE_RE.match(e)
            ]
        if len(foreign) >= limit:
            break
    return foreign[:limit]


def _check_target(out_dir: str, overwrite: bool) -> bool:
    """Return whether ``out_dir`` holds a set to be replaced.

    Raises:
        FileExistsError: ``out_dir`` is not a folder; it is not empty and
            ``overwrite`` is off; or ``overwrite`` is on but the folder was
            not written by this generator (no :data:`MARKER`) or holds files
            it did not write.
    """
    if not osp.lexists(out_dir):
        return False
    if not osp.isdir(out_dir) or osp.islink(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a folder')
    if not os.listdir(out_dir):
        return True
    if not overwrite:
        raise FileExistsError(
            f'{out_dir} exists and is not empty; pass overwrite=True '
            '(--overwrite) to replace it')
    if not osp.isfile(osp.join(out_dir, MARKER)):
        raise FileExistsError(
            f'refusing to overwrite {out_dir}: it was not written by this '
            f'generator (no {MARKER} in it); choose another folder or remove '
            'it yourself')
    foreign = _foreign_entries(out_dir)
    if foreign:
        raise FileExistsError(
            f'refusing to overwrite {out_dir}: it holds files this generator '
            f'did not write ({", ".join(foreign)}); move them out first')
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_stale_partials(out_dir: str) -> List[str]:
    """Remove the hidden ``.NAME.partial-PID`` folders that a killed
    generator left beside ``out_dir`` (its process is gone and the folder
    carries :data:`MARKER` or is empty); return what was removed."""
    parent, base = osp.split(osp.abspath(out_dir))
    pattern = re.compile(r'^\.' + re.escape(base) +
                         r'\.partial-(\d+)_*(\.old)?$')
    removed = []
    if not osp.isdir(parent):
        return removed
    for entry in os.listdir(parent):
        match = pattern.match(entry)
        path = osp.join(parent, entry)
        if (not match or _pid_alive(int(match.group(1))) or not osp.isdir(path)
                or osp.islink(path)):
            continue
        if os.listdir(path) and not osp.isfile(osp.join(path, MARKER)):
            continue
        shutil.rmtree(path)
        removed.append(path)
    return removed


def _dump(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f)


def generate_freihand(out_dir: str,
                      num_train: int,
                      num_eval: int,
                      versions: int = 4,
                      seed: int = 0,
                      workers: int = 1,
                      overwrite: bool = False,
                      quality: int = JPEG_QUALITY,
                      progress: Optional[Callable[[int, int],
                                                  None]] = None) -> Dict:
    """Write a synthetic data set in the FreiHAND layout.

    The set is built in a hidden sibling folder and moved to ``out_dir`` in
    one ``os.replace``, so an interrupted run never leaves a partial set
    there. The output depends on ``seed`` only, not on ``workers``.

    Args:
        out_dir (str): the data root to create.
        num_train (int): training annotations N (images: N * versions).
        num_eval (int): evaluation samples M (one image each).
        versions (int): images per training annotation; image ``k + N * v``
            is version v of annotation k. Defaults to 4 (as FreiHAND).
        seed (int): non-negative seed. Defaults to 0.
        workers (int): processes. Defaults to 1.
        overwrite (bool): replace a non-empty ``out_dir``, only if this
            generator wrote it (:data:`MARKER`) and nothing else was added
            to it. Defaults to False. Partial sets that a killed run left
            beside ``out_dir`` are removed first.
        quality (int): JPEG quality. Defaults to 90.
        progress (callable, optional): called as ``progress(done, total)``
            in images after each finished chunk.

    Returns:
        dict: ``out_dir``, ``num_train``, ``num_eval``, ``versions``,
        ``num_images``, ``seconds`` and ``images_per_s``.

    Raises:
        FileExistsError: ``out_dir`` is a file, a non-empty folder without
            ``overwrite``, or a folder this generator did not write.
        ValueError: a count or the seed is invalid.
    """
    for name, value, low in (('num_train', num_train, 1),
                             ('num_eval', num_eval, 1), ('versions', versions,
                                                         1), ('seed', seed, 0),
                             ('workers', workers, 1), ('quality', quality, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f'{name} must be an integer >= {low}, got '
                             f'{value!r}')
    out_dir = osp.abspath(out_dir)
    _check_target(out_dir, overwrite)
    clean_stale_partials(out_dir)
    parent, base = osp.split(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{base}.partial-{os.getpid()}')
    while osp.lexists(tmp):
        tmp += '_'
    start_time = time.perf_counter()
    counts = dict(training=(num_train, versions), evaluation=(num_eval, 1))
    total = num_train * versions + num_eval
    os.mkdir(tmp)
    try:
        _dump(
            osp.join(tmp, MARKER),
            dict(
                generator='peclr_mm.datasets.synthetic.generate_freihand',
                num_train=int(num_train),
                num_eval=int(num_eval),
                versions=int(versions),
                seed=int(seed),
                quality=int(quality)))
        jobs = []
        for split, split_id in _SPLITS:
            num, vers = counts[split]
            os.makedirs(osp.join(tmp, split, 'rgb'))
            chunk = max(1, min(64, -(-num // (4 * workers))))
            jobs += [(tmp, split, split_id, s, min(s + chunk, num), num, vers,
                      int(seed), int(quality)) for s in range(0, num, chunk)]
        results: Dict[str, list] = dict(training=[], evaluation=[])
        done = 0
        pool = _pool(workers) if workers > 1 else None
        outputs = map(_work, jobs) if pool is None else pool.imap(_work, jobs)
        try:
            for job, out in zip(jobs, outputs):
                results[job[1]].append(out)
                done += (job[4] - job[3]) * job[6]
                if progress is not None:
                    progress(done, total)
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
        for split, _ in _SPLITS:
            parts = sorted(results[split], key=lambda r: r[0])
            xyz = np.concatenate([p[1] for p in parts]
                                 or [np.zeros((0, 21, 3))])
            K = np.concatenate([p[2] for p in parts] or [np.zeros((0, 3, 3))])
            xyz_list = xyz.tolist()
            # The scale is computed from the values as stored, so readers
            # recompute it exactly.
            stored = np.array(xyz_list, dtype=np.float64).reshape(-1, 21, 3)
            scale = np.linalg.norm(stored[:, 9] - stored[:, 10], axis=1)
            _dump(osp.join(tmp, f'{split}_xyz.json'), xyz_list)
            _dump(osp.join(tmp, f'{split}_K.json'), K.tolist())
            _dump(osp.join(tmp, f'{split}_scale.json'), scale.tolist())
        if _check_target(out_dir, overwrite):
            old = tmp + '.old'
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start_time
    return dict(
        out_dir=out_dir,
        num_train=num_train,
        num_eval=num_eval,
        versions=versions,
        num_images=total,
        seconds=seconds,
        images_per_s=total / max(seconds, 1e-9))
