# Copyright (c) peclr_mm authors. All rights reserved.
"""Appearance augmentations: the invariant part of a PeCLR view."""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

__all__ = ['HSVJitter']


@TRANSFORMS.register_module()
class HSVJitter(BaseTransform):
    """PeCLR's colour jitter in HSV space, applied through one lookup table.

    ``H' = H * h``, ``S' = S * s``, ``V' = V * a + b`` (OpenCV's 8-bit HSV,
    clipped), with the factors drawn uniformly from the ranges. The defaults
    are the released PeCLR training configuration.

    Required Keys:
        - img (uint8, BGR)

    Modified Keys:
        - img

    Added Keys:
        - hsv_factors (h, s, a, b)

    Args:
        hue_range (tuple): range of the hue factor ``h``.
        sat_range (tuple): range of the saturation factor ``s``.
        value_alpha_range (tuple): range of the value gain ``a``.
        value_beta_range (tuple): range of the value offset ``b``.
        prob (float): probability of applying the jitter.
    """

    def __init__(self,
                 hue_range: Tuple[float, float] = (0.01, 1.),
                 sat_range: Tuple[float, float] = (0.01, 1.),
                 value_alpha_range: Tuple[float, float] = (0.5, 1.),
                 value_beta_range: Tuple[float, float] = (5., 20.),
                 prob: float = 1.):
        self.hue_range = tuple(hue_range)
        self.sat_range = tuple(sat_range)
        self.value_alpha_range = tuple(value_alpha_range)
        self.value_beta_range = tuple(value_beta_range)
        self.prob = prob
        self._levels = np.arange(256, dtype=np.float32)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            results['hsv_factors'] = (1., 1., 1., 0.)
            return results
        h = np.random.uniform(*self.hue_range)
        s = np.random.uniform(*self.sat_range)
        a = np.random.uniform(*self.value_alpha_range)
        b = np.random.uniform(*self.value_beta_range)
        lut = np.stack([
            np.clip(self._levels * h, 0, 179),
            np.clip(self._levels * s, 0, 255),
            np.clip(self._levels * a + b, 0, 255)
        ], -1).astype(np.uint8)[None]
        hsv = cv2.cvtColor(results['img'], cv2.COLOR_BGR2HSV)
        results['img'] = cv2.cvtColor(cv2.LUT(hsv, lut), cv2.COLOR_HSV2BGR)
        results['hsv_factors'] = (float(h), float(s), float(a), float(b))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hue_range={self.hue_range}, '
                f'sat_range={self.sat_range}, value_alpha_range='
                f'{self.value_alpha_range}, value_beta_range='
                f'{self.value_beta_range}, prob={self.prob})')
