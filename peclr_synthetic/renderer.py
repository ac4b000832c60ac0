# Copyright (c) peclr_mm authors. All rights reserved.
"""Drawing a hand and its background into an image.

The hand is drawn as depth-ordered, outlined capsules and a palm slab over
cluttered backgrounds. The silhouette (:func:`_layout`) depends on the
geometry only, so the versions of one sample share the hand mask and differ
in background, skin colour, lighting, blur and noise (:func:`_paint`). Needs
only NumPy and OpenCV.
"""
from typing import List, NamedTuple, Optional, Tuple

import cv2
import numpy as np

from .hand_model import _REF_BONE, IMG_SIZE, project

__all__ = ['render_hand']

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
    uv = project(xyz, K)
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
    hull = cv2.convexHull(project(slab, K).astype(np.float32))[:, 0]
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
