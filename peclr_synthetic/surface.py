# Copyright (c) peclr_mm authors. All rights reserved.
"""The hand's closed surface, rasterised with a depth buffer.

The hand is a union of solids: tapered capsules (sphere-swept segments) for
the phalanges, the thumb's metacarpal and the forearm, and for the palm a
rounded slab (a convex polygon swept by a sphere: a flat plate between
capsules along its rim). Each solid is drawn over the pixels of its bounding
box only, in NumPy: its front surface's depth and normal per pixel, merged
into the buffers with a smooth minimum of the depths (and the matching blend
of the normals), so that the parts join smoothly at the knuckles and the
wrist while a finger in front of the palm still hides it. Needs only NumPy.
"""
from typing import List, NamedTuple, Tuple

import cv2
import numpy as np

from .hand_model import REF_BONE

__all__ = ['Surface', 'rasterise_hand']

_FAR = 1e3  # depth of pixels that no solid covers

# Radii (metres at hand size 1) of the proximal, middle and distal
# phalanx at their base joint, and at the tip; per finger index..little.
_FINGER_R = np.array([[0.0100, 0.0090, 0.0080, 0.0072],
                      [0.0104, 0.0093, 0.0083, 0.0074],
                      [0.0098, 0.0088, 0.0079, 0.0071],
                      [0.0087, 0.0078, 0.0070, 0.0063]])
_THUMB_R = np.array([0.0140, 0.0105, 0.0095, 0.0082])  # CMC, MCP, IP, tip
_PALM_HALF = 0.0115  # half the palm's thickness
_ARM_R = (0.023, 0.030)  # forearm radius at the wrist and 0.3 m up the arm
_ARM_LEN = 0.30

#: Part of the hand each solid belongs to (the surface's ``part`` map).
PART_NONE, PART_PALM, PART_FINGER, PART_TIP, PART_ARM = 0, 1, 2, 3, 4


class Surface(NamedTuple):
    """The rasterised hand: per-pixel buffers of one image (H, W)."""
    depth: np.ndarray  # float32 metres; _FAR where nothing is drawn
    normal: np.ndarray  # (H, W, 3) float32 unit normals, camera frame
    part: np.ndarray  # uint8 PART_* of the nearest solid
    along: np.ndarray  # float32 position along that solid's axis, 0-1
    palmar: np.ndarray  # float32 normal . the palm side's direction
    lines: np.ndarray  # float32 0-1 palm lines and knuckle creases
    palm_front: bool  # the palm (not the back) faces the camera

    @property
    def mask(self) -> np.ndarray:
        """Pixels of the hand and wrist (not the forearm beyond 2 cm from
        the wrist) as a bool (H, W) map."""
        arm = (self.part == PART_ARM) & (self.along > 0.02 / _ARM_LEN)
        return (self.part != PART_NONE) & ~arm


class _Buffers:
    """The depth buffer and its companions, merged solid by solid."""

    def __init__(self, size: int, K: np.ndarray):
        self.size = size
        self.depth = np.full((size, size), _FAR, np.float32)
        self.normal = np.zeros((size, size, 3), np.float32)
        self.normal[..., 2] = -1.0
        self.part = np.zeros((size, size), np.uint8)
        self.along = np.zeros((size, size), np.float32)
        self.palmar = np.zeros((size, size), np.float32)
        self.lines = np.zeros((size, size), np.float32)
        self.focal = float(K[0, 0] + K[1, 1]) / 2.0
        self.centre = np.array([K[0, 2], K[1, 2]])

    def box(self, lo: np.ndarray,
            hi: np.ndarray) -> Tuple[slice, slice, np.ndarray, np.ndarray]:
        """The image window covering [lo, hi] (pixels, x y) and its pixel
        coordinates; empty slices when it is outside the image."""
        x0, y0 = np.maximum(np.floor(lo), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(hi) + 1, self.size).astype(int)
        x1, y1 = max(x1, x0), max(y1, y0)
        u = np.arange(x0, x1, dtype=np.float32)[None, :]
        v = np.arange(y0, y1, dtype=np.float32)[:, None]
        return slice(y0, y1), slice(x0, x1), u, v

    def merge(self, win: Tuple[slice,
                               slice], inside: np.ndarray, depth: np.ndarray,
              normal: np.ndarray, part: int, along: np.ndarray,
              palmar_dir: np.ndarray, lines: np.ndarray, blend: float) -> None:
        """Merge a solid's front surface into the buffers with a smooth
        minimum of the depths over ``blend`` metres."""
        if not inside.any():
            return
        ys, xs = win
        old = self.depth[ys, xs]
        z = np.where(inside, depth, _FAR)
        s = np.clip(0.5 + 0.5 * (old - z) / blend, 0.0, 1.0)
        s = np.where(inside, s, 0.0).astype(np.float32)
        self.depth[ys, xs] = old + s * (z - old) - blend * s * (1.0 - s)
        s3 = s[..., None]
        n = self.normal[ys, xs]
        n = n + s3 * (normal - n)
        n /= np.linalg.norm(n, axis=2, keepdims=True) + 1e-9
        self.normal[ys, xs] = n
        win_part = self.part[ys, xs]
        self.part[ys, xs] = np.where(s > 0.5, part, win_part)
        self.along[ys, xs] = np.where(s > 0.5, along, self.along[ys, xs])
        pal = normal @ palmar_dir.astype(np.float32)
        self.palmar[ys, xs] += s * (pal - self.palmar[ys, xs])
        self.lines[ys, xs] += s * (lines - self.lines[ys, xs])

    def capsule(self,
                a: np.ndarray,
                b: np.ndarray,
                ra: float,
                rb: float,
                part: int,
                palmar_dir: np.ndarray,
                blend: float,
                creases: Tuple[float, ...] = ()) -> None:
        """A tapered capsule from 3-D point ``a`` (radius ``ra`` metres)
        to ``b`` (``rb``): per pixel, the nearest point of the projected
        axis, the radius there and the depth of the surface in front of it
        (an impostor: exact for a sphere seen head on)."""
        za, zb = max(a[2], 1e-3), max(b[2], 1e-3)
        pa = self.centre + self.focal * a[:2] / za
        pb = self.centre + self.focal * b[:2] / zb
        qa, qb = self.focal * ra / za, self.focal * rb / zb
        lo = np.minimum(pa - qa, pb - qb)
        hi = np.maximum(pa + qa, pb + qb)
        ys, xs, u, v = self.box(lo, hi)
        if u.size == 0 or v.size == 0:
            return
        d = pb - pa
        length2 = float(d @ d)
        if length2 > 1e-9:
            free = ((u - pa[0]) * d[0] + (v - pa[1]) * d[1]) / length2
        else:
            free = np.zeros((v.size, u.size), np.float32)
        t = np.clip(free, 0.0, 1.0)
        cx = pa[0] + t * d[0] - u
        cy = pa[1] + t * d[1] - v
        dist = np.sqrt(cx * cx + cy * cy)
        radius = qa + t * (qb - qa)
        q = dist / np.maximum(radius, 1e-6)
        inside = q < 1.0
        q = np.minimum(q, 1.0)
        h = np.sqrt(1.0 - q * q)
        depth = za + t * (zb - za) - (ra + t * (rb - ra)) * h
        inv = -q / np.maximum(dist, 1e-6)
        normal = np.stack([cx * inv, cy * inv, -h], axis=-1)
        lines = np.zeros_like(t)
        if creases:  # thin rings across the axis, ~1 mm wide
            width = 0.0011 * (ra + rb) / 0.017 / (np.linalg.norm(b - a) + 1e-6)
            for c in creases:
                lines = np.maximum(lines, np.exp(-((free - c) / width)**2))
        self.merge((ys, xs), inside, depth, normal.astype(np.float32), part,
                   t.astype(np.float32), palmar_dir, lines, blend)

    def plate(self, corners: np.ndarray, normal: np.ndarray, half: float,
              axes: Tuple[np.ndarray, np.ndarray],
              palm_lines: List[np.ndarray], blend: float) -> None:
        """The palm's front face: the plane ``half`` metres in front of the
        convex polygon ``corners`` (3-D, in the palm's mid-plane), hit
        exactly by each pixel's ray; its rim is drawn by capsules."""
        centre = corners.mean(axis=0)
        n = normal if float(normal @ centre) < 0 else -normal
        front = corners + n * half
        uv = self.centre + self.focal * front[:, :2] / np.maximum(
            front[:, 2:], 1e-3)
        ys, xs, u, v = self.box(uv.min(axis=0), uv.max(axis=0))
        if u.size == 0 or v.size == 0:
            return
        rx = (u - self.centre[0]) / self.focal
        ry = (v - self.centre[1]) / self.focal
        offset = float(n @ centre) + half
        denom = n[0] * rx + n[1] * ry + n[2]
        denom = np.where(np.abs(denom) < 1e-4, -1e-4, denom)
        t = offset / denom  # depth of the ray's hit
        # In-plane coordinates of the hit (mid-plane, metres).
        ax, ay = axes
        px = (rx * t - centre[0]) * ax[0] + (ry * t - centre[1]) * ax[1] + (
            t - centre[2]) * ax[2]
        py = (rx * t - centre[0]) * ay[0] + (ry * t - centre[1]) * ay[1] + (
            t - centre[2]) * ay[2]
        # The polygon on the front face, projected: the pixels it covers.
        front = corners + n * half
        front = self.centre + self.focal * front[:, :2] / np.maximum(
            front[:, 2:], 1e-3)
        cover = np.zeros((v.size, u.size), np.uint8)
        cv2.fillPoly(cover, [
            np.round((front - [u[0, 0], v[0, 0]]) * 16).astype(np.int32)
        ], 1, cv2.LINE_8, 4)
        inside = (t > 0.05) & (cover > 0)
        # A gentle dome: the normal tilts outwards away from the centre.
        bend = 4.0
        nrm = np.broadcast_to(n, px.shape + (3, )).astype(np.float32).copy()
        nrm += (bend * px)[..., None] * ax.astype(np.float32)
        nrm += (bend * py)[..., None] * ay.astype(np.float32)
        nrm /= np.linalg.norm(nrm, axis=2, keepdims=True)
        lines = np.zeros(px.shape, np.float32)
        for curve in palm_lines:  # (P, 2) polyline in plane coordinates
            for p0, p1 in zip(curve[:-1], curve[1:]):
                d = p1 - p0
                s = np.clip(
                    ((px - p0[0]) * d[0] + (py - p0[1]) * d[1]) / (d @ d), 0,
                    1)
                dist2 = (px - p0[0] - s * d[0])**2 + (py - p0[1] - s * d[1])**2
                lines = np.maximum(lines, np.exp(-dist2 / 0.0009**2))
        self.merge((ys, xs), inside, t.astype(np.float32), nrm, PART_PALM,
                   np.zeros_like(lines), normal, lines, blend)


def _frame(xyz: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The palm's axes: towards the thumb side, from the wrist to the
    middle finger, and out of the palm (right hand)."""
    side = xyz[5] - xyz[17]
    side /= np.linalg.norm(side) + 1e-12
    up = xyz[9] - xyz[0]
    up -= side * (up @ side)
    up /= np.linalg.norm(up) + 1e-12
    return side, up, np.cross(side, up)


def _arm_direction(xyz: np.ndarray, side: np.ndarray, up: np.ndarray,
                   out: np.ndarray) -> np.ndarray:
    """Where the forearm goes from the wrist: away from the fingers, bent
    by a wrist angle that depends on the hand's geometry only (so all
    versions of a sample share it)."""
    seed = np.frombuffer(np.round(xyz, 5).tobytes(), np.uint8)
    rng = np.random.default_rng(list(seed[::16]))
    flex = np.radians(rng.uniform(-35, 35))
    dev = np.radians(rng.uniform(-20, 15))
    d = -up * np.cos(flex) * np.cos(dev) + out * np.sin(flex) + side * (
        np.sin(dev) * np.cos(flex))
    return d / np.linalg.norm(d)


def rasterise_hand(xyz: np.ndarray, K: np.ndarray, size: int) -> Surface:
    """Rasterise the hand of joints ``xyz`` (21, 3) metres, camera frame,
    seen through ``K``, into ``size`` x ``size`` buffers."""
    xyz = np.asarray(xyz, np.float64)
    K = np.asarray(K, np.float64)
    buf = _Buffers(size, K)
    s = np.linalg.norm(xyz[9] - xyz[10]) / REF_BONE
    side, up, out = _frame(xyz)
    # Forearm first (far part of the union), then palm, thumb, fingers.
    arm = _arm_direction(xyz, side, up, out)
    wrist = xyz[0] + up * 0.008 * s
    buf.capsule(wrist, wrist + arm * _ARM_LEN, _ARM_R[0] * s, _ARM_R[1] * s,
                PART_ARM, out, 0.015 * s)
    half = _PALM_HALF * s
    # The skin between the fingers reaches past the knuckles on straight
    # fingers (less as the finger bends at its base).
    web = []
    for f in range(4):
        bone = xyz[6 + 4 * f] - xyz[5 + 4 * f]
        along = float(bone @ up) / (np.linalg.norm(bone) + 1e-12)
        web.append(s * (-0.005 + 0.013 * max(along, 0.0)))
    # Outline of the palm in its mid-plane, pulled in by the rim radius.
    outline = np.stack([
        xyz[0] + side * 0.020 * s + up * 0.006 * s,
        xyz[1] * 0.5 + xyz[5] * 0.5 + side * 0.002 * s,
        xyz[5] + side * 0.001 * s + up * web[0],
        xyz[9] + up * web[1],
        xyz[13] + up * web[2],
        xyz[17] - side * 0.001 * s + up * web[3],
        xyz[17] - side * 0.003 * s - up * 0.035 * s,
        xyz[0] - side * 0.020 * s + up * 0.006 * s,
    ])
    mid = outline.mean(axis=0)
    outline -= np.outer((outline - mid) @ out, out)  # onto the mid-plane
    # Palm lines (heart, head, life) in plane coordinates, at size 1.
    lines = [
        np.array([[-0.034, 0.020], [-0.010, 0.024], [0.010, 0.028],
                  [0.022, 0.036]]) * s,
        np.array([[0.022, 0.014], [0.004, 0.012], [-0.014, 0.008],
                  [-0.030, 0.002]]) * s,
        np.array([[0.024, 0.012], [0.016, -0.002], [0.012, -0.018],
                  [0.010, -0.030]]) * s,
    ]
    shift = (mid - xyz[0]) @ side, (mid - xyz[0]) @ up
    lines = [c - np.array(shift) + [0.0, 0.0] for c in lines]
    buf.plate(outline, out, half, (side, up), lines, 0.006 * s)
    for i in range(len(outline)):
        a, b = outline[i], outline[(i + 1) % len(outline)]
        buf.capsule(a, b, half, half, PART_PALM, out, 0.006 * s)
    # Thumb: the metacarpal's flesh (thenar) then the phalanges.
    chain = [xyz[0] + side * 0.012 * s + up * 0.012 * s
             ] + [xyz[j] for j in (1, 2, 3, 4)]
    radii = [0.0150 * s] + list(_THUMB_R * s)
    for j in range(4):
        a, b = chain[j], chain[j + 1]
        tip = j == 3
        axis = b - a
        axis /= np.linalg.norm(axis) + 1e-12
        palmar = np.cross(axis, out)
        palmar = -palmar if palmar @ side > 0 else palmar
        if tip:
            b = b - axis * radii[j + 1] * 0.9
        buf.capsule(a, b, radii[j], radii[j + 1],
                    PART_TIP if tip else PART_FINGER, palmar if j > 1 else out,
                    0.008 * s if j < 2 else 0.004 * s, (0.0, ) if j == 2 else
                    ())
    for f in range(4):
        base = 5 + 4 * f
        for j in range(3):
            a, b = xyz[base + j], xyz[base + j + 1]
            axis = b - a
            axis /= np.linalg.norm(axis) + 1e-12
            palmar = np.cross(side, axis)
            tip = j == 2
            ra, rb = _FINGER_R[f, j] * s, _FINGER_R[f, j + 1] * s
            if tip:
                b = b - axis * rb * 0.9
            buf.capsule(a, b, ra, rb, PART_TIP if tip else PART_FINGER, palmar,
                        0.007 * s if j == 0 else 0.004 * s,
                        (0.0, 0.06) if j else ())
    palm_centre = xyz[[0, 5, 9, 13, 17]].mean(axis=0)
    return Surface(buf.depth, buf.normal, buf.part, buf.along, buf.palmar,
                   buf.lines, bool(out @ palm_centre < 0))
