# Copyright (c) peclr_mm authors. All rights reserved.
"""Synthetic hands written in the FreiHAND layout (docs/design.md section
6).

FreiHAND cannot be downloaded on the project's machines, so its readers,
transforms and tools are exercised on a stand-in that has exactly its file
layout::

    OUT/training/rgb/%08d.jpg        V versions of N samples; image k + N*v
    OUT/training_{xyz,K,scale}.json  shares annotation k
    OUT/evaluation/rgb/%08d.jpg      M samples, one version
    OUT/evaluation_{xyz,K,scale}.json

Three modules:

- :mod:`.hand_model`: a 21-joint kinematic chain (FreiHAND joint order,
  metres, camera frame) posed at random, and the camera that frames it
  (:func:`sample_hand`);
- :mod:`.surface`: the hand's closed surface (tapered capsules, a rounded
  palm slab and a forearm, joined smoothly) rasterised with a depth buffer
  into per-pixel depth, normals and parts;
- :mod:`.renderer`: that surface shaded as skin (diffuse and specular
  light, ambient occlusion, a soft shadow, texture, nails, creases) over
  photographs or procedural backgrounds (:func:`render_hand`); versions
  of one sample share the geometry (xyz, K and hence the hand mask) and
  differ in background, skin tone, sleeve, lighting, blur and noise;
- :mod:`.writer`: the FreiHAND layout on disk (:func:`generate_freihand`);
- :mod:`.youtube3d`: the same hands in the YouTube3DHands layout (one
  annotation json, frames per video; :func:`generate_youtube3d`).

A package of its own beside ``peclr_mm``: it imports only NumPy, OpenCV
and the standard library, so writing a data set needs neither torch nor
the OpenMMLab stack, and importing it runs none of ``peclr_mm``'s
registrations or patches.
"""
from .hand_model import (FOCAL_RANGE, IMG_SIZE, NUM_JOINTS, ROOT_DEPTH_RANGE,
                         sample_hand)
from .renderer import render_hand
from .writer import (JPEG_QUALITY, MARKER, clean_stale_partials,
                     generate_freihand)
from .youtube3d import NUM_VERTICES, YT3D_TRAIN_HANDS, generate_youtube3d

# The former module's __all__ first, then its other public names.
__all__ = [
    'generate_freihand', 'sample_hand', 'render_hand', 'clean_stale_partials',
    'MARKER', 'IMG_SIZE', 'NUM_JOINTS', 'FOCAL_RANGE', 'ROOT_DEPTH_RANGE',
    'JPEG_QUALITY', 'generate_youtube3d', 'YT3D_TRAIN_HANDS', 'NUM_VERTICES'
]
