# Copyright (c) peclr_mm authors. All rights reserved.
"""Hand detectors in front of the 3-D model: MediaPipe Hands (the palm
detector and landmark model inside its wheel, with handedness) or any mmdet
detector (boxes only), as mmpose's top-down demo plugs one in.

A detector is called on a BGR image and returns one dict per hand, the
most confident first: ``bbox`` (4,) ``[x1, y1, x2, y2]`` in image pixels;
``handedness`` (``'left'``/``'right'`` of the real hand, or ``None`` when
the detector cannot tell); ``score``, the detector's confidence in that
label (MediaPipe's only score; not in the pose); ``bbox_score``, a box
detector's confidence in the box (mmdet; MediaPipe gives none); and
``keypoints`` ((21, 2) landmarks in image pixels, FreiHAND's joint order,
or ``None``), which give the pose's confidence.

MediaPipe Hands (``mediapipe==0.10.21``, ``mediapipe.solutions.hands``)
returns FreiHAND's 21 joints, metric "world" landmarks about the hand's
centre, and a handedness label that assumes a mirrored (selfie) image: on
an ordinary photograph its ``'Right'`` is a left hand.
:class:`MediaPipeHands` returns the hand that is really seen
(``selfie=False``, the default), so it serves as the detector of the
inferencer and as the real-photo peer of the realism measure
(``tools/analysis/realism.py``). MediaPipe is optional: it is imported
when a :class:`MediaPipeHands` is made, and a missing package is named
with how to install it.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

__all__ = [
    'MediaPipeHands', 'MMDetHandDetector', 'build_detector',
    'import_mediapipe_hands', 'MEDIAPIPE_VERSION'
]

#: The newest wheel that still ships the palm detector and landmark model.
MEDIAPIPE_VERSION = '0.10.21'
_HANDEDNESS = {'left': 'right', 'right': 'left'}


def import_mediapipe_hands():
    """``mediapipe.solutions.hands``, or an ``ImportError`` that says how
    to install it."""
    try:
        from mediapipe.python.solutions import hands
    except ImportError as exc:
        raise ImportError(
            f'MediaPipe Hands needs mediapipe=={MEDIAPIPE_VERSION} (newer '
            'wheels no longer ship its models): pip install --no-deps '
            f'mediapipe=={MEDIAPIPE_VERSION} absl-py attrs flatbuffers '
            f'protobuf==4.25.9 sentencepiece matplotlib ({exc})') from exc
    return hands


class MediaPipeHands:
    """Hands found by MediaPipe in a BGR image, as plain arrays.

    Args:
        static_image_mode (bool): treat every call as an unrelated photo
            (run the palm detector each time); ``False`` tracks hands
            across the frames of a video. Defaults to True.
        max_num_hands (int): the most hands returned. Defaults to 2.
        min_detection_confidence (float): the palm detector's and the
            landmark model's hand-presence threshold, in [0, 1]. Defaults
            to 0.5 (MediaPipe's).
        min_tracking_confidence (float): the landmark tracking threshold
            of video mode. Defaults to 0.5.
        model_complexity (int): 0 (lite) or 1 (full) landmark model.
            Defaults to 1.
        selfie (bool): the images are mirrored (a front camera's preview):
            MediaPipe's handedness label is then kept as it is. Defaults
            to False: ordinary photos, whose label is swapped.

    Example:
        >>> with MediaPipeHands() as detect:
        ...     hands = detect(cv2.imread('hand.jpg'))
        >>> hands[0]['keypoints'].shape, hands[0]['handedness']
        ((21, 2), 'left')
    """

    def __init__(self,
                 static_image_mode: bool = True,
                 max_num_hands: int = 2,
                 min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5,
                 model_complexity: int = 1,
                 selfie: bool = False):
        for name, value in (('min_detection_confidence',
                             min_detection_confidence),
                            ('min_tracking_confidence',
                             min_tracking_confidence)):
            if not 0. <= value <= 1.:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        if int(max_num_hands) < 1:
            raise ValueError(
                f'max_num_hands must be >= 1, got {max_num_hands}')
        if model_complexity not in (0, 1):
            raise ValueError(
                f'model_complexity must be 0 or 1, got {model_complexity}')
        self.selfie = selfie
        self.settings = dict(
            static_image_mode=static_image_mode,
            max_num_hands=int(max_num_hands),
            min_detection_confidence=min_detection_confidence,
            model_complexity=model_complexity)
        self._hands = import_mediapipe_hands().Hands(
            static_image_mode=static_image_mode,
            max_num_hands=int(max_num_hands),
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)

    def __call__(self, img_bgr: np.ndarray) -> List[dict]:
        """Find the hands in one image.

        Args:
            img_bgr: (H, W, 3) uint8 BGR image (as ``cv2.imread`` gives).

        Returns:
            list[dict]: one dict per hand, the most confident first:

            - ``keypoints`` (21, 2) float64 pixels (x = column, y = row;
              MediaPipe's normalised coordinates times W and H),
              FreiHAND's joint order.
            - ``keypoints_world`` (21, 3) float64 metres about the hand's
              centre (MediaPipe's world landmarks; not in the camera
              frame, compare them after Procrustes alignment).
            - ``bbox`` (4,) float64 xyxy pixels around the 21 keypoints.
            - ``score`` (float): MediaPipe's confidence in the handedness
              label (the solution reports no other per-hand score).
            - ``handedness`` (str): ``'left'`` or ``'right'``, the hand
              really seen (see ``selfie``).
        """
        import cv2
        img = np.asarray(img_bgr)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError('img_bgr must be an (H, W, 3) uint8 BGR image, '
                             f'got {img.dtype} {img.shape}')
        h, w = img.shape[:2]
        res = self._hands.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        world = res.multi_hand_world_landmarks or [None] * len(
            res.multi_hand_landmarks or [])
        hands = []
        for lms, label, wlms in zip(res.multi_hand_landmarks or [],
                                    res.multi_handedness or [], world):
            uv = np.array([[p.x * w, p.y * h] for p in lms.landmark])
            cls = label.classification[0]
            seen = cls.label.lower()
            if not self.selfie:
                seen = _HANDEDNESS[seen]
            hands.append(
                dict(
                    keypoints=uv,
                    keypoints_world=None if wlms is None else np.array(
                        [[p.x, p.y, p.z] for p in wlms.landmark]),
                    bbox=np.concatenate([uv.min(0), uv.max(0)]),
                    score=float(cls.score),
                    handedness=seen))
        hands.sort(key=lambda d: -d['score'])
        return hands

    def close(self) -> None:
        """Free MediaPipe's graph (also done on leaving a ``with``)."""
        if self._hands is not None:
            self._hands.close()
            self._hands = None

    def __enter__(self) -> 'MediaPipeHands':
        return self

    def __exit__(self, *exc) -> Optional[bool]:
        self.close()
        return None

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}'
                         for k, v in getattr(self, 'settings', {}).items())
        return f'{type(self).__name__}({args}, selfie={self.selfie})'


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
                score=None,
                keypoints=None) for d in dets
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
        return MediaPipeHands(
            max_num_hands=max_hands,
            static_image_mode=static_image_mode,
            model_complexity=model_complexity)
    return MMDetHandDetector(detector, det_weights, device, **kwargs)
