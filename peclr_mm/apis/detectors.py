# Copyright (c) peclr_mm authors. All rights reserved.
"""Hand detectors in front of the 3-D model: MediaPipe Hands (the palm
detector and landmark model inside its wheel, with handedness) or any mmdet
detector (boxes only), as mmpose's top-down demo plugs one in.

A detector is called on a BGR image and returns one dict per hand:
``bbox`` (4,) ``[x1, y1, x2, y2]`` in image pixels, ``bbox_score`` (the
detector's confidence in the box, ``None`` when it gives none),
``handedness`` (``'left'``/``'right'`` of the real hand, or ``None`` when
the detector cannot tell), ``handedness_score`` (its confidence in that
label, not in the pose) and ``landmarks`` ((21, 2) joints in image
pixels, or ``None``), which give the pose's confidence.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

__all__ = ['MediaPipeHandDetector', 'MMDetHandDetector', 'build_detector']


class MediaPipeHandDetector:
    """MediaPipe Hands (``mediapipe==0.10.21``, through
    :class:`peclr_mm.evaluation.MediaPipeHands`) as the hand detector:
    palm detection, 21 landmarks and the real hand's handedness; the
    hand's box is the tight box of its 21 landmarks, the box rule the 3-D
    models are trained with (the box of the projected joints).

    Args:
        max_num_hands: the most hands per image.
        min_detection_confidence: MediaPipe's detection threshold.
        static_image_mode: ``True`` detects in every image independently;
            ``False`` tracks across the frames of a video (faster, steadier).
        model_complexity: 0 (lite) or 1 (full) landmark model.

    Raises:
        ImportError: mediapipe is not installed (the message says how).
    """

    def __init__(self,
                 max_num_hands: int = 2,
                 min_detection_confidence: float = 0.5,
                 static_image_mode: bool = True,
                 model_complexity: int = 1):
        from ..evaluation.mediapipe_hands import MediaPipeHands
        self.max_num_hands = int(max_num_hands)
        self._hands = MediaPipeHands(
            static_image_mode=static_image_mode,
            max_num_hands=self.max_num_hands,
            min_detection_confidence=min_detection_confidence,
            model_complexity=model_complexity)

    def __call__(self, img_bgr: np.ndarray) -> List[dict]:
        # MediaPipe's only score is the handedness label's: no box score
        return [
            dict(
                bbox=hand['bbox'],
                bbox_score=None,
                handedness=hand['handedness'],
                handedness_score=hand['score'],
                landmarks=hand['keypoints']) for hand in self._hands(img_bgr)
        ]

    def close(self) -> None:
        self._hands.close()


class MMDetHandDetector:
    """An mmdet detector's boxes of the chosen classes above a score, after
    NMS, as ``demo/topdown_demo_with_mmdet.py`` of mmpose keeps them. It
    cannot tell left from right: ``handedness`` is ``None``.

    Args:
        config: mmdet config file.
        checkpoint: its weights (loaded safely).
        device: torch device.
        cat_ids: the class indices that are hands.
        score_thr: the lowest box score kept.
        nms_thr: IoU threshold of the NMS between kept boxes.

    Raises:
        ValueError: a config without weights, or a missing file (named).
    """

    def __init__(self,
                 config: str,
                 checkpoint: Optional[str],
                 device: str = 'cpu',
                 cat_ids: Sequence[int] = (0, ),
                 score_thr: float = 0.3,
                 nms_thr: float = 0.3):
        if not checkpoint:
            raise ValueError(f'detector config {config} was given without '
                             'weights: pass --det-checkpoint')
        for name, path in (('detector config', config), ('detector weights',
                                                         checkpoint)):
            if '://' not in path and not osp.isfile(path):
                raise ValueError(f'{name} {path} is not a file')
        from mmdet.apis import init_detector
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        self.model = init_detector(config, checkpoint, device=device)
        self.cat_ids = tuple(int(c) for c in cat_ids)
        self.score_thr = float(score_thr)
        self.nms_thr = float(nms_thr)

    def __call__(self, img_bgr: np.ndarray) -> List[dict]:
        from mmdet.apis import inference_detector
        from mmengine.registry import DefaultScope
        from mmpose.evaluation.functional import nms
        with DefaultScope.overwrite_default_scope('mmdet'):
            pred = inference_detector(self.model, img_bgr).pred_instances
        pred = pred.cpu().numpy()
        keep = np.isin(pred.labels, self.cat_ids) & (
            pred.scores > self.score_thr)
        dets = np.concatenate([pred.bboxes[keep], pred.scores[keep, None]],
                              axis=1)
        dets = dets[nms(dets, self.nms_thr)] if len(dets) else dets
        return [
            dict(
                bbox=d[:4].astype(np.float64),
                bbox_score=float(d[4]),
                handedness=None,
                handedness_score=None,
                landmarks=None) for d in dets
        ]

    def close(self) -> None:
        pass


def build_detector(detector: Optional[str] = 'mediapipe',
                   det_weights: Optional[str] = None,
                   device: str = 'cpu',
                   max_hands: int = 2,
                   static_image_mode: bool = True,
                   model_complexity: int = 1,
                   **kwargs):
    """The detector named by ``detector``: ``'mediapipe'`` (default; its
    ``model_complexity`` 0 is the lite landmark model, 1 the full one),
    ``None``/``'none'`` (no detector: the whole image is the hand's crop),
    or the path of an mmdet config with ``det_weights``."""
    if detector in (None, 'none'):
        if det_weights:
            raise ValueError('detector weights given without a detector '
                             'config (--det-config)')
        return None
    if detector == 'mediapipe':
        if det_weights:
            raise ValueError('the MediaPipe detector ships its weights; '
                             '--det-checkpoint needs --det-config')
        return MediaPipeHandDetector(
            max_num_hands=max_hands,
            static_image_mode=static_image_mode,
            model_complexity=model_complexity)
    return MMDetHandDetector(detector, det_weights, device, **kwargs)
