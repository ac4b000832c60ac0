# Copyright (c) peclr_mm authors. All rights reserved.
"""Drawing a hand and its background into an image.

The hand's closed surface (:mod:`.surface`: per-pixel depth, normals and
parts) depends on the geometry only (:func:`layout_hand`), so the versions
of one sample share the hand mask and differ in skin tone, texture,
lighting, sleeve, background, blur and noise (:func:`paint_hand`). The
writers call the two apart; :func:`render_hand` is both at once. The skin
is shaded
with wrapped diffuse light, a specular highlight, an ambient term tinted by
the surroundings, ambient occlusion from the depth buffer and a soft cast
shadow; nails, knuckle creases and palm lines come from the surface's
maps. Backgrounds are photographs shipped with scikit-image (when it is
installed) or procedural clutter. Needs only NumPy and OpenCV
(scikit-image optional).
"""
from typing import List, Optional, Tuple

import cv2
import numpy as np

from .hand_model import IMG_SIZE
from .surface import PART_ARM, PART_NONE, PART_TIP, Surface, rasterise_hand

__all__ = [
    'render_hand', 'layout_hand', 'paint_hand', 'skin_tone',
    'procedural_background'
]

# Skin palette (BGR), light to dark; a tone is drawn between neighbours.
_SKIN = np.array([[180, 205, 240], [160, 190, 235], [140, 172, 224],
                  [118, 150, 210], [92, 130, 196], [70, 108, 170],
                  [52, 84, 140], [40, 60, 100]],
                 dtype=np.float64)
_NOISE_TILE: Optional[np.ndarray] = None


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


def skin_tone(rng: np.random.Generator) -> np.ndarray:
    """A random skin colour (BGR, 0-255 floats) from the palette."""
    t = rng.uniform(0, len(_SKIN) - 1)
    i = min(int(t), len(_SKIN) - 2)
    tone = _SKIN[i] + (t - i) * (_SKIN[i + 1] - _SKIN[i])
    return np.clip(tone + rng.normal(0, 8, 3), 0, 255)


def procedural_background(rng: np.random.Generator, size: int,
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


_PHOTOS: Optional[List[np.ndarray]] = None
# scikit-image's bundled photographs (BSD licence) used as backgrounds
# (those that need a download are skipped).
_PHOTO_NAMES = ('astronaut', 'coffee', 'chelsea', 'rocket',
                'immunohistochemistry', 'hubble_deep_field', 'camera', 'coins',
                'moon', 'page', 'text', 'brick', 'grass', 'gravel',
                'colorwheel', 'retina', 'clock')


def _photos() -> List[np.ndarray]:
    """BGR photographs from ``skimage.data`` that load without the
    network (none when scikit-image is missing), cached per process."""
    global _PHOTOS
    if _PHOTOS is None:
        _PHOTOS = []
        try:
            from skimage import data
        except ImportError:
            return _PHOTOS
        for name in _PHOTO_NAMES:
            try:
                img = np.asarray(getattr(data, name)())
            except Exception:  # needs a download, or absent in this version
                continue
            if img.dtype != np.uint8 or img.ndim not in (2, 3) or min(
                    img.shape[:2]) < 128:
                continue
            if img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            elif img.shape[2] == 4:
                img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGR)
            else:
                img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
            _PHOTOS.append(np.ascontiguousarray(img))
    return _PHOTOS


def _photo_background(rng: np.random.Generator,
                      size: int) -> Optional[np.ndarray]:
    """A random crop of a photograph, scaled, flipped and colour-jittered;
    None when no photograph is available."""
    photos = _photos()
    if not photos:
        return None
    img = photos[int(rng.integers(len(photos)))]
    h, w = img.shape[:2]
    side = int(rng.uniform(0.25, 1.0) * min(h, w))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    crop = cv2.resize(
        img[y:y + side, x:x + side], (size, size),
        interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = crop.astype(np.float32) * rng.uniform(0.6, 1.25, 3).astype(
        np.float32) + rng.uniform(-30, 30)
    return np.clip(crop, 0, 255).astype(np.uint8)


def _scene(rng: np.random.Generator, size: int,
           skin: np.ndarray) -> np.ndarray:
    """A background: a photograph (most often, when available) or
    procedural clutter, toned down and sometimes out of focus."""
    img = _photo_background(rng, size) if rng.random() < 0.75 else None
    if img is None:
        img = procedural_background(rng, size, skin)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 4.0))
        grey = img.mean(axis=2, keepdims=True)
        keep = rng.uniform(0.2, 0.7)  # procedural colours are loud
        img = np.clip(grey + keep * (img - grey), 0, 255).astype(np.uint8)
    if rng.random() < 0.6:  # out of focus
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 3.0))
    return img


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) + 1e-12)


def paint_hand(surf: Surface, rng: np.random.Generator) -> np.ndarray:
    """Shade the hand's surface over a fresh background: one appearance
    (version)."""
    size = surf.depth.shape[0]
    skin = skin_tone(rng) / 255.0
    img = _scene(rng, size, skin * 255.0).astype(np.float32) / 255.0
    covered = surf.part != PART_NONE
    if not covered.any():
        return (img * 255).astype(np.uint8)
    ys, xs = np.nonzero(covered)
    y0, y1 = ys.min(), ys.max() + 1
    x0, x1 = xs.min(), xs.max() + 1
    win = (slice(y0, y1), slice(x0, x1))
    n = surf.normal[win]
    part = surf.part[win]
    depth = surf.depth[win]
    palmar = np.clip(surf.palmar[win], -1.0, 1.0)
    along = surf.along[win]
    # Albedo: the skin tone, lighter and pinker on the palm side, redder
    # at the knuckles' creases, a mottled texture.
    albedo = np.broadcast_to(skin.astype(np.float32), n.shape).copy()
    palm_side = np.clip(palmar, 0.0, 1.0)[..., None]
    pink = np.array([0.04, 0.03, 0.07], np.float32) + 0.18 * (1.0 - albedo)
    albedo += palm_side * pink * rng.uniform(0.5, 1.0)
    tex = _crop_noise(rng, x1 - x0 + y1 - y0, int(rng.integers(24, 64)))
    tex = tex[:y1 - y0, :x1 - x0].astype(np.float32) / 128.0 - 1.0
    albedo *= 1.0 + rng.uniform(0.03, 0.09) * tex.mean(axis=2, keepdims=True)
    albedo *= 1.0 + 0.04 * tex
    crease = surf.lines[win] * np.clip(0.1 + 1.5 * palmar, 0.0, 1.0)
    albedo *= (1.0 - rng.uniform(0.25, 0.45) * crease)[..., None]
    # Nails: the back of the distal phalanx near the tip.
    nail = (part == PART_TIP) & (palmar < -0.55) & (along > 0.42)
    nail = cv2.GaussianBlur(nail.astype(np.float32), (0, 0), 0.7)
    nail_col = np.clip(skin * [1.05, 1.08, 1.12] + 0.12, 0, 1)
    albedo += nail[..., None] * (nail_col.astype(np.float32) - albedo)
    # A sleeve over part of the forearm, or bare skin.
    arm = part == PART_ARM
    if rng.random() < 0.55:
        cuff = rng.uniform(0.08, 0.45)
        sleeve = arm & (along > cuff)
        cloth = rng.uniform(0.05, 0.9, 3).astype(np.float32)
        albedo[sleeve] = cloth * (1.0 + 0.15 * tex[sleeve])
    # Light: direction (towards the light), colour, ambient term.
    light = _unit(rng.normal(size=3) + [0.0, -0.6, -1.6])
    colour = np.clip(1.0 + rng.normal(0, 0.08, 3), 0.8, 1.2)
    ambient = rng.uniform(0.25, 0.55)
    wrap = 0.35
    lam = np.clip((n @ light + wrap) / (1.0 + wrap), 0.0, 1.0)
    # Ambient occlusion: pixels deeper than their neighbourhood.
    solid = np.where(part != PART_NONE, depth, 0.0).astype(np.float32)
    wgt = (part != PART_NONE).astype(np.float32)
    k = max(3, int(round(0.02 * size)) | 1)
    mean = cv2.blur(solid, (k, k)) / np.maximum(cv2.blur(wgt, (k, k)), 1e-3)
    occl = np.clip((depth - mean) / 0.012, 0.0, 1.0)
    ao = 1.0 - 0.55 * occl
    # Soft cast shadow: a nearer surface between the pixel and the light.
    shift = -light[:2] / max(abs(light[2]), 0.3) * 0.08 * size
    mat = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    near = cv2.warpAffine(
        np.where(part != PART_NONE, depth, 1e3).astype(np.float32),
        mat, (x1 - x0, y1 - y0),
        flags=cv2.INTER_NEAREST,
        borderValue=1e3)
    shadow = (near < depth - 0.015).astype(np.float32)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 2.0)
    direct = lam * (1.0 - 0.6 * shadow)
    scene_tint = img[win].reshape(-1, 3).mean(axis=0) * 0.3 + 0.7
    shade = (
        ambient * scene_tint * ao[..., None] +
        (1.0 - ambient) * 1.1 * direct[..., None] * colour)
    view = np.float32([0.0, 0.0, -1.0])
    half = _unit(light + view)
    gloss = rng.uniform(8.0, 30.0)
    spec = np.clip(n @ half, 0.0, 1.0)**gloss
    spec *= rng.uniform(0.05, 0.25) * (1.0 + 2.0 * nail) * (1.0 - shadow)
    hand = albedo * shade + spec[..., None] * colour
    # Subsurface glow: the shadowed side of skin stays warm.
    hand += (1.0 - lam)[..., None] * 0.06 * np.float32([0.2, 0.3, 1.0]) * (
        albedo.mean(axis=2, keepdims=True))
    alpha = cv2.GaussianBlur((part != PART_NONE).astype(np.float32), (3, 3),
                             0.6)[..., None]
    img[win] = img[win] * (1.0 - alpha) + hand * alpha
    img = np.clip(img * 255.0, 0, 255).astype(np.uint8)
    grain = _crop_noise(rng, size, size)
    amp = rng.uniform(0.02, 0.12)
    img = cv2.addWeighted(img, 1.0, grain, amp, -128 * amp)
    img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 0.9))
    return cv2.convertScaleAbs(
        img, alpha=rng.uniform(0.85, 1.15), beta=rng.uniform(-15, 15))


def layout_hand(xyz: np.ndarray, K: np.ndarray, size: int) -> Surface:
    """The hand's rasterised surface; depends on the geometry only, so all
    versions of a sample share it."""
    return rasterise_hand(xyz, K, size)


def render_hand(xyz: np.ndarray,
                K: np.ndarray,
                rng: np.random.Generator,
                size: int = IMG_SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """Draw a hand (with its forearm leaving the frame) over a random
    background.

    The hand is a closed surface (tapered capsules for the phalanges and
    the forearm, a rounded slab for the palm, joined smoothly), rasterised
    with a depth buffer and shaded as skin under a random light.

    Args:
        xyz (np.ndarray): (21, 3) joints in metres, camera frame.
        K (np.ndarray): (3, 3) intrinsics.
        rng (np.random.Generator): draws the appearance (background,
            skin, lighting, sleeve); the hand's shape depends on xyz and K
            only.
        size (int): image size. Defaults to 224.

    Returns:
        tuple: ``img`` (size, size, 3) uint8 BGR and ``mask`` (size, size)
        uint8, 255 on hand pixels (not the forearm) and 0 elsewhere.
    """
    surf = layout_hand(xyz, K, size)
    mask = np.where(surf.mask, 255, 0).astype(np.uint8)
    return paint_hand(surf, rng), mask
