# Copyright (c) peclr_mm authors. All rights reserved.
"""``Hand3DPoseInferencer``: 3-D hands in photographs, folders, videos and a
webcam, in the shape of mmpose's inferencers (``MMPoseInferencer``): a
config name or path plus weights; called on inputs it yields, per image or
frame, the predictions and, when asked, the drawn picture; it writes one
results file per input and optional pictures or an annotated video."""
import hashlib
import json
import os
import os.path as osp
import re
import stat
import sys
import tempfile
import time
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from ..utils.io import atomic_write_image, atomic_write_json
from .detectors import build_detector
from .inference import (CONFIDENCE_SIGMA, HandPipeline, check_bone_length,
                        check_camera, check_hand, load_image, predict)
from .tracking import HandTracker, merge_duplicates

__all__ = [
    'Hand3DPoseInferencer', 'resolve_config', 'expand_inputs', 'output_names',
    'check_show', 'check_out_dir', 'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS',
    'WRITTEN_BY'
]

#: What a folder argument is expanded to.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
#: Inputs read frame by frame.
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
#: Written into every results file, so a later run knows the files are ours.
WRITTEN_BY = 'peclr_mm Hand3DPoseInferencer'
#: What results files of earlier versions say (still recognised as ours).
_WRITTEN_BEFORE = ('peclr_mm Hand3DInferencer', )


def resolve_config(model: str) -> str:
    """The config file of ``model``: a path, or a config name looked up in
    the repository's ``configs/`` (or an installed package's
    ``.mim/configs``).

    Raises:
        ValueError: no such file or config name.
    """
    from ..weights.names import UnknownConfigError as ReleaseError
    from ..weights.names import find_config
    try:
        return find_config(model)
    except ReleaseError as exc:
        raise ValueError(str(exc)) from None


def _unique_stems(paths: Sequence[str]) -> List[str]:
    stems = [osp.splitext(osp.basename(str(p)))[0] for p in paths]
    names = [
        stem if stems.count(stem) == 1 else stem + '_' +
        hashlib.sha1(osp.realpath(str(p)).encode()).hexdigest()[:8]
        for stem, p in zip(stems, paths)
    ]
    if len(set(names)) != len(names):  # the same path given twice
        seen = [n for n in names if names.count(n) > 1]
        raise ValueError(f'inputs {sorted(set(seen))} are given more than '
                         'once')
    return names


def output_names(paths: Sequence[str]) -> List[str]:
    """One output name per input: the file's stem where no other input
    shares it, else the stem and 8 hex digits of the SHA-1 of the input's
    real path (unique per path, the same in every run)."""
    return _unique_stems(paths)


def _regular(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise OSError(f'{path}: cannot read ({exc.strerror})') from None
    if not stat.S_ISREG(mode):
        raise OSError(f'{path} is not a regular file (a pipe, device or '
                      'folder): not read')
    return path


def _path_hash(path: str) -> str:
    return hashlib.sha1(osp.realpath(str(path)).encode()).hexdigest()[:8]


def _why_skipped(path: str, name: str) -> Optional[str]:
    """Why a folder's entry is not read as an image (``None``: it is)."""
    ext = osp.splitext(name)[1].lower()
    if osp.isdir(path):
        return 'a sub-folder (folders are not descended; pass it by name)'
    if ext in IMAGE_EXTENSIONS:
        return None
    if ext in VIDEO_EXTENSIONS:
        return 'a video inside a folder (pass videos by name)'
    if ext in ('.heic', '.heif'):
        return 'HEIC/HEIF, which OpenCV cannot read (convert it to JPEG)'
    if ext == '.gif':
        return 'a GIF (animated or palette images are not read; convert ' \
            'it to PNG)'
    return f'not an image ({", ".join(IMAGE_EXTENSIONS)})'


def expand_inputs(inputs, skipped: Optional[list] = None) -> List[dict]:
    """Each input as ``dict(kind, source, key, name)``: ``kind`` is
    ``'image'``, ``'array'``, ``'video'`` or ``'webcam'``; a folder stands
    for the images directly inside it (sorted); ``name`` is unique per
    input (see :func:`output_names`).

    Args:
        inputs: paths, folders, arrays, ``'webcam[:N]'`` or camera indices.
        skipped: a list to which ``(path, why)`` is appended for every
            entry of a folder that is not read (sub-folders, videos, HEIC,
            GIF, other files; hidden files are ignored).
    """
    if isinstance(inputs, (str, int, np.ndarray)):
        inputs = [inputs]
    items = []
    for i, src in enumerate(inputs):
        if isinstance(src, np.ndarray):
            items.append(dict(kind='array', source=src, key=f'array_{i}'))
        elif isinstance(
                src, int) or (isinstance(src, str) and
                              (src == 'webcam' or src.startswith('webcam:'))):
            index = src if isinstance(src, int) else int(
                (src.split(':') + ['0'])[1])
            items.append(
                dict(kind='webcam', source=index, key=f'webcam_{index}'))
        elif osp.isdir(src):
            found = []
            for name in sorted(os.listdir(src)):
                path = osp.join(src, name)
                why = _why_skipped(path, name)
                if why is None:
                    found.append(path)
                elif skipped is not None and not name.startswith('.'):
                    skipped.append((path, why))
            if not found:
                raise ValueError(f'{src} is a folder with no images '
                                 f'({", ".join(IMAGE_EXTENSIONS)}) in it')
            items += [dict(kind='image', source=p, key=p) for p in found]
        elif str(src).lower().endswith(VIDEO_EXTENSIONS):
            items.append(dict(kind='video', source=_regular(src), key=src))
        else:
            items.append(dict(kind='image', source=src, key=src))
    for item, name in zip(items, _unique_stems([it['key'] for it in items])):
        item['name'] = name
    return items


def _frame_count(cap) -> Optional[int]:
    import cv2
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(count) if count and count > 0 else None


def _video_frames(item: dict):
    import cv2
    cap = cv2.VideoCapture(item['source'])
    what = ('webcam ' + str(item['source'])
            if item['kind'] == 'webcam' else item['source'])
    if not cap.isOpened():
        raise OSError(f'{what}: cannot be opened as a video (expected a '
                      f'video file or camera OpenCV can read)')
    item['fps'] = cap.get(cv2.CAP_PROP_FPS) or 30.
    item['frames'] = _frame_count(cap) if item['kind'] == 'video' else None
    index = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                if index == 0:
                    raise OSError(f'{what}: no frame could be decoded '
                                  '(expected a readable video)')
                return
            yield index, frame
            index += 1
    finally:
        cap.release()


def check_show() -> None:
    """Refuse ``show`` where no window can open: an OpenCV built without
    GUI support (``opencv-python-headless``, what this project installs),
    or no display.

    Raises:
        RuntimeError: one line saying why and what to do instead.
    """
    import cv2
    gui = re.search(r'GUI:\s*(\S+)', cv2.getBuildInformation())
    if gui is None or gui.group(1).upper() == 'NONE':
        raise RuntimeError(
            'show needs an OpenCV with GUI support; this one is headless '
            '(opencv-python-headless): drop --show and open the written '
            'pictures, or install opencv-python')
    if sys.platform.startswith('linux') and not (
            os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        raise RuntimeError('show needs a display, and DISPLAY is not set: '
                           'drop --show and open the written pictures')


def check_out_dir(out_dir: str) -> None:
    """Prove a file can be written in ``out_dir``, so an unwritable one is
    found before any input runs; the folders it had to make for the proof
    are removed again (made when a file is written).

    Raises:
        OSError: one line naming ``out_dir`` and why.
    """
    made, folder = [], osp.abspath(out_dir)
    while not osp.isdir(folder) and folder != osp.dirname(folder):
        made.append(folder)
        folder = osp.dirname(folder)
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix='.peclr_probe_')
        os.close(fd)
        os.remove(probe)
        for folder in made:
            os.rmdir(folder)
    except OSError as exc:
        raise OSError(f'out_dir {out_dir} cannot be written '
                      f'({exc.strerror or exc}): choose another') from None


def _score(value) -> Optional[float]:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 4)


def _instance(sample) -> dict:
    pred, meta = sample.pred_instances, sample.metainfo
    K = np.asarray(meta['K'], np.float64)
    joint_scores = np.asarray(pred.keypoint_scores, np.float64)[0]
    inst = dict(
        keypoints=np.asarray(pred.keypoints, np.float64)[0].round(2).tolist(),
        keypoint_scores=[_score(v) for v in joint_scores],
        keypoints_3d=np.asarray(pred.keypoints_3d,
                                np.float64)[0].round(6).tolist(),
        score=_score(meta.get('score')),
        bbox=np.asarray(pred.bboxes, np.float64)[0].round(2).tolist(),
        bbox_score=_score(np.asarray(pred.bbox_scores, np.float64)[0]),
        handedness=meta['handedness'],
        handedness_score=_score(meta.get('handedness_score')),
        handedness_source=meta['handedness_source'],
        bbox_source=meta['bbox_source'],
        K=K.round(4).tolist(),
        K_source=meta['K_source'],
        K_note=meta['K_note'],
        bone_length=meta['bone_length'],
        bone_length_source=meta['bone_length_source'])
    if meta.get('track_id') is not None:
        inst['track_id'] = meta['track_id']
    return inst


class Hand3DPoseInferencer:
    """3-D hand pose on photographs, folders, videos and a webcam: every
    hand found (MediaPipe Hands by default, or an mmdet detector), left or
    right decided, each hand cropped by the config's crop rule, left hands
    mirrored by their crop, 3-D joints out in the image's own frame.

    What comes out, per hand: ``keypoints_3d`` in metres with bone 9-10
    exactly the stated ``bone_length``; depth that follows the hand's size
    in the image and the camera's focal length (``K`` given, else the
    EXIF focal, else an assumed phone or webcam camera: ``K_source``); and
    ``score`` / ``keypoint_scores``, a confidence in [0, 1]: how well the
    model's 2-D joints agree with the MediaPipe detector's own 21
    landmarks (:func:`landmark_confidence`; ``None`` where the detector
    gives none). Threshold ``score`` (e.g. 0.5) to keep trustworthy hands;
    ``handedness_score`` is MediaPipe's confidence in the left/right
    label only.

    Args:
        model: a config file or a config name (e.g.
            ``'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64'``).
        weights: checkpoint path or address (loaded safely, compared with
            the model first); ``None`` keeps the config's initialisation.
        device: torch device (``None``: ``'cpu'``).
        det_model: the hand detector, as mmpose's ``det_model``:
            ``'mediapipe'``, ``None`` (the whole image is one hand's crop)
            or an mmdet config file.
        det_weights: the mmdet detector's weights.
        det_cat_ids: the mmdet classes that are hands.
        det_score_thr: the lowest mmdet box score kept.
        max_hands: the most hands predicted per image; more hands found
            are not predicted, and a note on the image says so.
        K: (3, 3) intrinsics of every input, its principal point inside
            each image (``whole_image_K``); ``None``: per input, the EXIF
            focal where there is one, else assumed (stated in the
            results).
        bone_length: bone 9-10 in metres (0.015-0.08); ``None`` assumes
            FreiHAND's mean (stated in the results).
        hand: ``'left'``/``'right'`` for every hand, overriding the
            detector; ``None`` uses the detector's handedness (an mmdet
            detector or no detector: right, stated as assumed).
        recrop: a second pass on a crop around the first prediction;
            ``None`` keeps the config's choice.
        threads: torch's (and OpenCV's) CPU threads; ``None`` leaves
            them. One thread is the fastest when anything else runs:
            torch's default (all cores) spins threads that wait on each
            other when a core is busy (the model step 9 ms -> 140 ms).
        whole_image_K: refuse a ``K`` whose principal point is not inside
            the image (``False`` for crops of larger frames).
        det_complexity: MediaPipe's landmark model, 0 (lite, the default)
            or 1 (full). Measured on the real test set (frames 0-291): lite
            finds as many hands, its landmarks rank the model's hands as
            well (Spearman -0.93 against -0.95 with the full model), and
            it is about 30 % faster.

    Raises:
        ValueError: a config that is not a 3-D hand model, weights that do
            not fit it, a detector config without weights, a CUDA device
            without a GPU.
        UnsafeCheckpointError: a checkpoint that would run code to load.
    """

    def __init__(self,
                 model: str,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 det_model: Optional[str] = 'mediapipe',
                 det_weights: Optional[str] = None,
                 det_cat_ids: Sequence[int] = (0, ),
                 det_score_thr: float = 0.3,
                 max_hands: int = 2,
                 K: Optional[np.ndarray] = None,
                 bone_length: Optional[float] = None,
                 hand: Optional[str] = None,
                 recrop: Optional[bool] = None,
                 threads: Optional[int] = None,
                 det_complexity: int = 0,
                 whole_image_K: bool = True):
        import torch
        from mmengine.config import Config
        from mmengine.registry import DefaultScope
        from mmengine.runner import load_checkpoint
        from mmpose.apis import init_model
        from mmpose.registry import MODELS

        from ..models.pose_estimators import TopdownHand3DEstimator
        from ..weights import check_checkpoint_matches
        if hand is not None:
            check_hand(hand)
        if int(max_hands) < 1:
            raise ValueError(f'max_hands must be >= 1, got {max_hands}')
        if bone_length is not None:
            bone_length = check_bone_length(bone_length)
        self.device = device or 'cpu'
        if self.device.startswith('cuda') and not torch.cuda.is_available():
            raise ValueError(
                f'device {self.device}: torch finds no CUDA GPU here (torch '
                f'{torch.__version__}, built '
                f'{"with CUDA " + torch.version.cuda if torch.version.cuda else "without CUDA"}'  # noqa: E501
                '); use --device cpu')
        if threads is not None:
            import cv2
            if int(threads) < 1:
                raise ValueError(f'threads must be >= 1, got {threads}')
            torch.set_num_threads(int(threads))
            cv2.setNumThreads(int(threads))
        config = resolve_config(model)
        cfg = Config.fromfile(config)
        with DefaultScope.overwrite_default_scope(
                cfg.get('default_scope', 'mmpose')):
            cls = MODELS.get(cfg.model.get('type', ''))
        if not (isinstance(cls, type)
                and issubclass(cls, TopdownHand3DEstimator)):
            raise ValueError(
                f'{config} builds a {cfg.model.get("type")}, not a '
                'TopdownHand3DEstimator: 3-D inference needs a fine-tuned '
                'hand config (configs/hand25d/...), not a pretraining one')
        self.model = init_model(cfg, None, device=self.device)
        if weights:
            check_checkpoint_matches(self.model, weights)
            load_checkpoint(self.model, weights, map_location='cpu')
        self.model.eval()
        self.config = config
        self.weights = weights
        self.max_hands = int(max_hands)
        # one more than kept, so a hand beyond max_hands is noticed
        self._det_args = dict(
            detector=det_model,
            det_weights=det_weights,
            device=self.device,
            max_hands=self.max_hands + 1)
        if det_model == 'mediapipe':
            self._det_args.update(model_complexity=det_complexity)
        elif det_model not in (None, 'none'):
            self._det_args.update(cat_ids=det_cat_ids, score_thr=det_score_thr)
        # built once here, so a bad detector fails before any input is read
        self.detector = build_detector(**self._det_args)
        self._video_detector = None
        self.K = K
        self.bone_length = bone_length
        self.hand = hand
        # built once: every image and video frame goes through it
        self.pipeline = HandPipeline(self.model, recrop=recrop)
        self.whole_image_K = whole_image_K
        meta = self.model.dataset_meta or {}
        names = meta.get('keypoint_id2name')
        self.keypoint_names = [names[i]
                               for i in range(len(names))] if names else None
        self.timing = dict(detector_ms=[], model_ms=[])
        self.errors: List[str] = []
        self.skipped: List[tuple] = []
        self.renamed: List[dict] = []
        self.videos: List[dict] = []

    def _detector_for(self, kind: str):
        """Videos track (MediaPipe's video mode), images detect anew."""
        if kind not in ('video',
                        'webcam') or self._det_args['detector'] != 'mediapipe':
            return self.detector
        if self._video_detector is not None:
            self._video_detector.close()
        self._video_detector = build_detector(
            **self._det_args, static_image_mode=False)
        return self._video_detector

    def preprocess(self,
                   img: Union[str, np.ndarray],
                   bboxes: Optional[np.ndarray] = None,
                   detector=None,
                   tracker: Optional[HandTracker] = None) -> dict:
        """The first stage, as mmpose's: load one image and find its
        hands: the given boxes, the detector's (one hand found twice
        merged, at most ``max_hands``; with a ``tracker``, a video's,
        each hand's handedness is its track's majority) or the whole
        image.

        Args:
            img: path or BGR array.
            bboxes: (N, 4) boxes that replace the detector's.
            detector: the detector to use (default: the inferencer's).
            tracker: follows hands across a video's frames.

        Returns:
            dict: ``info`` (the loaded image), ``K`` (checked, or
            ``None``), ``hands`` (per hand the inputs of
            :func:`~peclr_mm.apis.inference.predict`), ``dets`` (the
            detector's hands, ``None`` without a detector),
            ``box_source`` and ``notes``.

        Raises:
            ValueError: a given box or ``K`` that does not fit the image;
                OSError: an unreadable image.
        """
        info = load_image(img)
        name = info['img_path']
        h, w = info['img_shape'][:2]
        K = None if self.K is None else check_camera(self.K, f'K for {name}',
                                                     (w,
                                                      h), self.whole_image_K)
        det = self.detector if detector is None else detector
        dets, notes = None, []
        t0 = time.perf_counter()
        if bboxes is not None:
            arr = np.asarray(bboxes, np.float64)
            if arr.ndim not in (1, 2) or arr.shape[-1] != 4:
                raise ValueError(f'{name}: boxes must be [x1, y1, x2, y2] or '
                                 f'(N, 4), got shape {list(arr.shape)}')
            dets = [dict(bbox=b, bbox_score=1.) for b in arr.reshape(-1, 4)]
            box_source = 'given'
        elif det is not None:
            dets, merged = merge_duplicates(det(info['img']))
            if merged:
                notes.append(f'{merged} duplicate box(es) of one hand merged')
            if len(dets) > self.max_hands:
                notes.append(f'more hands found than max_hands='
                             f'{self.max_hands}: only the {self.max_hands} '
                             'most confident predicted')
                dets = dets[:self.max_hands]
            box_source = 'detector'
        else:
            box_source = 'whole image'
        if dets is not None:
            self.timing['detector_ms'].append(1000 *
                                              (time.perf_counter() - t0))
            if not dets:
                notes.append('no hand found')
        tracks = (
            tracker.update(dets)
            if tracker is not None and box_source == 'detector' else None)
        hands = [
            self._hand(d, box_source, tracks[k] if tracks else None)
            for k, d in enumerate([dict(bbox=None)] if dets is None else dets)
        ]
        return dict(
            info=info,
            K=K,
            hands=hands,
            dets=dets,
            box_source=box_source,
            notes=notes)

    def forward(self, inputs: dict) -> tuple:
        """The second stage: predict every hand :meth:`preprocess` found,
        in one batch through the pipeline built once.

        Returns:
            tuple: the ``PoseDataSample`` per predicted hand (every value
            of the hand in its metainfo), the detector's hands matching
            them (``None`` without a detector) and a note (or ``None``).
            A detected hand that cannot be predicted (e.g. a box mostly
            outside the image) is left out with a note.

        Raises:
            ValueError: a given box or camera under which a hand cannot be
                predicted.
        """
        t0 = time.perf_counter()
        dets, notes = inputs['dets'], list(inputs['notes'])
        results = predict(self.model, inputs['info'], self.pipeline,
                          inputs['hands'], inputs['K'], self.bone_length,
                          True) if inputs['hands'] else []
        if inputs['hands']:
            self.timing['model_ms'].append(1000 * (time.perf_counter() - t0))
        samples, kept = [], []
        for k, res in enumerate(results):
            if isinstance(res, str):
                if inputs['box_source'] != 'detector':
                    raise ValueError(res)
                notes.append(f'hand {k} not predicted: {res}')
                continue
            samples.append(res)
            kept.append(None if dets is None else dets[k])
        return samples, None if dets is None else kept, '; '.join(
            notes) or None

    def postprocess(self,
                    samples: List,
                    return_datasample: bool = False) -> list:
        """The last stage: the hands as mmpose-shaped dicts (what the
        results file holds per hand), or the ``PoseDataSample``s."""
        return samples if return_datasample else [
            _instance(s) for s in samples
        ]

    def predict_image(self,
                      img: Union[str, np.ndarray],
                      bboxes: Optional[np.ndarray] = None,
                      detector=None,
                      tracker: Optional[HandTracker] = None) -> tuple:
        """:meth:`preprocess` and :meth:`forward` on one image.

        Returns:
            tuple: the ``PoseDataSample`` per predicted hand, the loaded
            image dict, the detector's hands matching the samples
            (``None`` without a detector) and a note (e.g. ``'no hand
            found'``, or ``None``).
        """
        inputs = self.preprocess(img, bboxes, detector, tracker)
        samples, dets, note = self.forward(inputs)
        return samples, inputs['info'], dets, note

    def _hand(self, det: dict, box_source: str, track) -> dict:
        """One hand's input to :func:`predict`: its box, handedness
        (given, the track's majority, the detector's, or assumed right)
        and the detector's values, which the sample keeps."""
        said = det.get('handedness')
        voted = None if track is None else track[1]
        if self.hand is not None:
            hand, source = self.hand, 'given'
        elif voted is not None:
            hand, source = voted, ('detector' if voted == said else
                                   "detector, its track's majority (this "
                                   f'frame said {said})')
        elif said is not None:
            hand, source = said, 'detector'
        else:
            hand, source = 'right', ('assumed: right (no handedness from the '
                                     'detector; pass hand=/--hand)')
        return dict(
            bbox=det['bbox'],
            bbox_score=det.get('bbox_score'),
            bbox_source=box_source,
            handedness=hand,
            handedness_source=source,
            # MediaPipe's ``score`` is its confidence in the label
            handedness_score=det.get('score'),
            landmarks=det.get('keypoints'),
            track_id=None if track is None else track[0])

    def visualize(self, img: np.ndarray, samples) -> np.ndarray:
        """The hands' skeletons, boxes, handedness and confidence over a
        copy of ``img`` (OpenCV, fast enough for every video frame); the
        box is green for a confidence of at least 0.5, orange from 0.25,
        red below, grey when unknown; the wrist's depth is written only
        when the camera is known (``K_source`` given or from EXIF)."""
        import cv2

        from ..visualization import draw_skeleton_2d
        side = max(img.shape[:2])
        thickness = max(1, int(round(side / 400)))
        out = img
        for sample in samples:
            kpts = np.asarray(sample.pred_instances.keypoints)[0]
            out = draw_skeleton_2d(out, kpts, thickness=thickness)
            x1, y1, x2, y2 = np.asarray(
                sample.pred_instances.bboxes)[0].round().astype(int)
            score = sample.metainfo.get('score')
            if score is None:
                colour, label = (160, 160, 160), 'conf ?'
            else:
                colour = ((0, 200, 0) if score >= 0.5 else
                          (0, 165, 255) if score >= 0.25 else (0, 0, 255))
                label = f'conf {score:.2f}'
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
            label = f'{sample.metainfo["handedness"]} {label}'
            if sample.metainfo.get('K_source') in ('given', 'exif'):
                z = np.asarray(sample.pred_instances.keypoints_3d)[0, 0, 2]
                label += f' z={z * 1000:.0f}mm'
            cv2.putText(out, label, (x1, max(12, y1 - 4)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, colour,
                        thickness, cv2.LINE_AA)
        if out is img:
            out = img.copy()
        return out

    @staticmethod
    def visualize_3d(samples, size: int = 320) -> np.ndarray:
        """The hands' 3-D joints seen from beside the camera
        (:func:`peclr_mm.visualization.draw_hands3d_view`)."""
        from ..visualization import draw_hands3d_view
        hands = [np.asarray(s.pred_instances.keypoints_3d)[0] for s in samples]
        assumed = any(s.metainfo.get('K_source') == 'assumed' for s in samples)
        text = '3-D, turned 60 deg' + (' (depth assumed)' if assumed else '')
        return draw_hands3d_view(hands, size, text=text)

    def _meta_info(self, item: dict) -> dict:
        meta = dict(
            written_by=WRITTEN_BY,
            input=item['key'] if item['kind'] != 'array' else '<array>',
            kind=item['kind'],
            config=self.config,
            weights=self.weights,
            keypoint_names=self.keypoint_names,
            units='keypoints and bbox in image pixels (x right, y down); '
            'keypoints_3d in metres, camera frame (x right, y down, z '
            'forward), bone 9-10 exactly bone_length long; K in pixels',
            score='score (per hand) and keypoint_scores (per joint) are in '
            "[0, 1]: the agreement of the model's 2-D joints with the "
            "MediaPipe detector's own landmarks, exp(-d^2 / (2 * "
            f'{CONFIDENCE_SIGMA}^2)) with d the distance over the box\'s '
            'longer side, averaged over the joints for score; null without '
            'detector landmarks. bbox_score is the box detector\'s score '
            "(MediaPipe has none: the hand's score); handedness_score is "
            "the detector's confidence in left/right only",
            depth='depth follows the hand\'s size in the image, the '
            'focal length and bone_length; with K_source "assumed" it is '
            'a guess (a phone or webcam camera), with "exif" or "given" a '
            'measurement as good as bone_length')
        if item['kind'] in ('image', 'video'):
            meta['source'] = osp.realpath(item['source'])
        return meta

    def __call__(self,
                 inputs,
                 pred_out_dir: Optional[str] = None,
                 vis_out_dir: Optional[str] = None,
                 return_vis: bool = False,
                 show: bool = False,
                 draw_every: int = 1,
                 bboxes: Optional[Union[Sequence[float], Dict[str,
                                                              list]]] = None,
                 return_datasample: bool = False,
                 progress: bool = False,
                 skip_errors: bool = False) -> Iterator[dict]:
        """Predict every hand of every input.

        Args:
            inputs: an image path, a BGR array, a folder, a video file,
                ``'webcam'``/``'webcam:N'`` or an int camera index, or a
                list of these.
            pred_out_dir: where to write ``NAME.json`` (one per input;
                written before any picture, atomically); a folder counts
                as the images in it. A ``NAME.json`` of an earlier run
                from another file of the same name is kept: the new
                results get the name and 8 hex digits of the path's SHA-1
                (listed in ``self.renamed``).
            vis_out_dir: where to write, unless ``draw_every`` is 0,
                ``NAME.jpg`` with the 3-D view ``3d/NAME.jpg`` (a video or
                webcam: ``NAME.mp4``, one frame per input frame).
            return_vis: yield the drawn pictures too.
            show: show each drawn picture in a window (needs an OpenCV
                with GUI support and a display: checked first).
            draw_every: draw every N-th image or frame (0: no pictures); a
                video repeats the last drawn frame in between, so it keeps
                the input's frame count and speed.
            bboxes: one box ``[x1, y1, x2, y2]`` for every image, or a dict
                from image path or file name to a list of boxes; replaces
                the detector.
            return_datasample: yield ``PoseDataSample``s instead of
                mmpose-shaped dicts.
            progress: a progress bar on stderr (with a total where the
                frame counts are known).
            skip_errors: an input (or video frame) that cannot be read or
                predicted, or whose outputs would overwrite a file this
                inferencer did not write, is recorded in ``self.errors``
                (and yielded with ``error``) and the others go on;
                ``False`` raises.

        Yields:
            dict: per image or frame, ``predictions`` (a list with one
            entry: the list of that image's hands), ``visualization`` (a
            list with the drawn image, or empty), ``input``, ``kind``,
            ``frame_id``, ``note`` (e.g. ``'no hand found'``, or
            ``None``) and ``error`` (with ``skip_errors``: what went
            wrong, or ``None``).

        Raises:
            ValueError, OSError: bad inputs, named; an output path that is
                an input or a file this inferencer did not write; an
                output folder that cannot be written.
            RuntimeError: ``show`` without a window system.
        """
        if draw_every < 0:
            raise ValueError(f'draw_every must be >= 0, got {draw_every}')
        if show:
            check_show()
        self.skipped = []
        items = expand_inputs(inputs, self.skipped)
        all_inputs = {
            osp.realpath(item['source'])
            for item in items if item['kind'] in ('image', 'video')
        }
        self.errors, self.renamed, self.videos = [], [], []
        out_dir = None
        if pred_out_dir is not None or vis_out_dir is not None:
            out_dir = (pred_out_dir, vis_out_dir if draw_every else None)
            for folder in out_dir:
                if folder is not None:
                    check_out_dir(folder)
            if not skip_errors:
                for item in items:  # refuse before anything is written
                    self._check_outputs(item, out_dir, all_inputs, draw_every)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=_total(items), unit='img', desc='hands 3-D')
        try:
            for result in self._run_items(items, out_dir, all_inputs,
                                          return_vis, show, draw_every, bboxes,
                                          return_datasample, skip_errors):
                if bar is not None:
                    bar.update(1)
                yield result
        finally:
            if bar is not None:
                bar.close()

    def _run_items(self, items, out_dir, all_inputs, return_vis, show,
                   draw_every, bboxes, return_datasample,
                   skip_errors) -> Iterator[dict]:
        for item in items:
            if out_dir is not None and skip_errors:
                try:
                    self._check_outputs(item, out_dir, all_inputs, draw_every)
                except ValueError as exc:
                    self.errors.append(str(exc))
                    yield self._error_result(item, 0, exc)
                    continue
            run = (
                self._run_video
                if item['kind'] in ('video', 'webcam') else self._run_image)
            try:
                yield from run(item, out_dir, return_vis, show, draw_every,
                               bboxes, return_datasample, skip_errors)
            except (OSError, ValueError) as exc:
                if not skip_errors:
                    raise
                self.errors.append(str(exc))
                yield self._error_result(item, 0, exc)

    @staticmethod
    def _error_result(item: dict, frame_id: int, exc: Exception) -> dict:
        return dict(
            input=item['key'] if item['kind'] != 'array' else '<array>',
            kind=item['kind'],
            frame_id=frame_id,
            predictions=[[]],
            visualization=[],
            note=None,
            error=str(exc))

    def _paths(self, item: dict, out_dir: tuple) -> tuple:
        """The results file, the picture (or video) and the 3-D view of
        ``item`` in ``out_dir`` = ``(pred_out_dir, vis_out_dir)``, each
        ``None`` where not written."""
        pred_dir, vis_dir = out_dir
        name = item['name']
        pred = None if pred_dir is None else osp.join(pred_dir, name + '.json')
        if vis_dir is None:
            return pred, None, None
        if item['kind'] in ('video', 'webcam'):
            return pred, osp.join(vis_dir, name + '.mp4'), None
        return pred, osp.join(vis_dir,
                              name + '.jpg'), osp.join(vis_dir, '3d',
                                                       name + '.jpg')

    def _check_outputs(self, item, out_dir, inputs, draw_every) -> None:
        pred = self._paths(item, out_dir)[0]
        meta = None if pred is None else _our_meta(pred)
        if meta is not None and not _same_source(meta, item):
            # an earlier run's results of another file with this name
            old = item['name']
            item['name'] = f'{old}_{_path_hash(item["source"])}'
            self.renamed.append(
                dict(
                    input=item['key'],
                    name=item['name'],
                    instead_of=old,
                    held_by=meta.get('source', meta.get('input'))))
            pred = self._paths(item, out_dir)[0]
            meta = _our_meta(pred)
            if meta is not None and not _same_source(meta, item):
                raise ValueError(f'{pred} holds the results of '
                                 f'{meta.get("source")}, not of '
                                 f'{item["key"]}; choose another '
                                 'pred_out_dir')
        pred, vis, vis3d = self._paths(item, out_dir)
        for out in (o for o in (pred, vis, vis3d) if o is not None):
            if osp.realpath(out) in inputs:
                raise ValueError(f'{out} is one of the inputs; choose '
                                 'another output folder')
            if osp.lexists(out) and meta is None:
                raise ValueError(f'{out} exists and was not written by '
                                 f'{WRITTEN_BY}; choose another output '
                                 'folder')

    def _boxes_for(self, bboxes, path) -> Optional[np.ndarray]:
        if bboxes is None:
            return None
        if not isinstance(bboxes, dict):
            return np.asarray(bboxes, np.float64)
        for key in (path, osp.basename(str(path))):
            if key in bboxes:
                return np.asarray(bboxes[key], np.float64)
        raise ValueError(f'{path}: no boxes for it in the boxes given '
                         '(keys are image paths or file names)')

    def _result(self, item, frame_id, samples, instances, drawn, note,
                return_vis, return_datasample) -> dict:
        return dict(
            input=item['key'] if item['kind'] != 'array' else '<array>',
            kind=item['kind'],
            frame_id=frame_id,
            predictions=[samples if return_datasample else instances],
            visualization=[drawn] if return_vis and drawn is not None else [],
            note=note,
            error=None)

    def _run_image(self, item, out_dir, return_vis, show, draw_every, bboxes,
                   return_datasample, skip_errors) -> Iterator[dict]:
        import cv2
        paths = (
            self._paths(item, out_dir) if out_dir is not None else
            (None, None, None))
        try:
            samples, info, _, note = self.predict_image(
                item['source'], self._boxes_for(bboxes, item['key']))
        except (OSError, ValueError) as exc:
            if not skip_errors:
                raise
            self.errors.append(str(exc))
            yield self._error_result(item, 0, exc)
            return
        instances = self.postprocess(samples)
        record = dict(frame_id=0, instances=instances)
        if note:
            record['note'] = note
        if paths[0] is not None:  # first: it marks the pictures as ours
            atomic_write_json(
                paths[0],
                dict(meta_info=self._meta_info(item), instance_info=[record]),
                indent=1)
        drawn = None
        if draw_every and (return_vis or show or paths[1] is not None):
            drawn = self.visualize(info['img'], samples)
            if paths[1] is not None:
                atomic_write_image(paths[1], drawn)
                atomic_write_image(paths[2], self.visualize_3d(samples))
            if show:
                cv2.imshow('peclr_mm', drawn)
                cv2.waitKey(1)
        yield self._result(item, 0, samples, instances, drawn, note,
                           return_vis, return_datasample)

    def _run_video(self, item, out_dir, return_vis, show, draw_every, bboxes,
                   return_datasample, skip_errors) -> Iterator[dict]:
        import cv2
        detector = self._detector_for(item['kind'])
        tracker = HandTracker()
        pred_file, vis_path, _ = (
            self._paths(item, out_dir) if out_dir is not None else
            (None, None, None))
        writing = vis_path is not None and draw_every > 0
        records, writer, last, size = [], None, None, None
        tmp_vis = None if not writing else osp.join(
            osp.dirname(vis_path), f'.{osp.basename(vis_path)}.partial.mp4')
        state = 'interrupted'
        if pred_file is not None:  # first: it marks the outputs as ours
            atomic_write_json(
                pred_file,
                dict(
                    meta_info=dict(
                        self._meta_info(item),
                        complete=False,
                        note='being written (or interrupted)'),
                    instance_info=[]),
                indent=1)
        try:
            for frame_id, frame in _video_frames(item):
                notes = []
                h, w = frame.shape[:2]
                if size is not None and (w, h) != size:
                    notes.append(f'frame size changed from {size[0]}x'
                                 f'{size[1]} to {w}x{h}')
                size = (w, h)
                samples, instances, error = [], [], None
                try:
                    samples, _, _, note = self.predict_image(
                        frame,
                        self._boxes_for(bboxes, item['key']),
                        detector=detector,
                        tracker=tracker)
                    if note:
                        notes.append(note)
                    instances = self.postprocess(samples)
                except (OSError, ValueError) as exc:
                    if not skip_errors:
                        raise
                    error = f'{item["key"]} frame {frame_id}: {exc}'
                    self.errors.append(error)
                record = dict(frame_id=frame_id, instances=instances)
                if notes:
                    record['note'] = '; '.join(notes)
                if error:
                    record['error'] = error
                records.append(record)
                drawn = None
                if draw_every and (return_vis or show or writing):
                    if frame_id % draw_every == 0:
                        drawn = last = self.visualize(frame, samples)
                    else:  # keep real time: the last drawn frame again
                        drawn = last if last is not None else frame
                    if writing:
                        writer = self._write_frame(item, tmp_vis, drawn,
                                                   writer)
                    if show and frame_id % draw_every == 0:
                        cv2.imshow('peclr_mm', drawn)
                        if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                            state = 'stopped by the user'
                            return
                if error:
                    yield self._error_result(item, frame_id, error)
                else:
                    yield self._result(item, frame_id, samples, instances,
                                       drawn, record.get('note'), return_vis,
                                       return_datasample)
            state = 'complete'
        except KeyboardInterrupt:
            state = 'interrupted (Ctrl-C)'
            raise
        except GeneratorExit:
            state = 'stopped by the caller'
            raise
        except Exception as exc:
            state = f'stopped by an error ({exc})'
            raise
        finally:
            if writer is not None:
                writer[0].release()
                os.replace(tmp_vis, vis_path)
            report = self._video_report(item, len(records), state)
            self.videos.append(report)
            if pred_file is not None:
                atomic_write_json(
                    pred_file,
                    dict(
                        meta_info=dict(self._meta_info(item), **report),
                        instance_info=records),
                    indent=1)

    @staticmethod
    def _video_report(item: dict, read: int, state: str) -> dict:
        expected = item.get('frames')
        report = dict(
            input=item['key'],
            frames_read=read,
            frames_expected=expected,
            complete=state == 'complete')
        if state != 'complete':
            report['note'] = (f'incomplete: {state} after {read} frame(s)' +
                              (f' of {expected}' if expected else ''))
        elif expected and read < expected:
            report['truncated'] = True
            report['note'] = (f'truncated: {read} of {expected} frames '
                              'could be decoded (the file may be cut short '
                              'or damaged)')
        return report

    @staticmethod
    def _write_frame(item, path, drawn, writer) -> tuple:
        """Append ``drawn`` to the video at ``path``; ``writer`` is
        ``None`` or the ``(cv2.VideoWriter, (W, H))`` this returned."""
        import cv2
        if writer is None:
            os.makedirs(osp.dirname(path), exist_ok=True)
            h, w = drawn.shape[:2]
            writer = (cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'),
                                      float(item.get('fps', 30.)),
                                      (w, h)), (w, h))
        if (drawn.shape[1], drawn.shape[0]) != writer[1]:
            drawn = cv2.resize(drawn, writer[1])  # one size per video
        writer[0].write(drawn)
        return writer


def _total(items) -> Optional[int]:
    """Images and video frames to come, or ``None`` when a count is not
    known (a webcam, a video without a frame count)."""
    import cv2
    total = 0
    for item in items:
        if item['kind'] in ('image', 'array'):
            total += 1
        elif item['kind'] == 'webcam':
            return None
        else:
            cap = cv2.VideoCapture(item['source'])
            count = _frame_count(cap)
            cap.release()
            if count is None:
                return None
            total += count
    return total


def _our_meta(json_file: str) -> Optional[dict]:
    """The ``meta_info`` of a results file this inferencer wrote, or
    ``None``."""
    try:
        with open(json_file) as f:
            meta = json.load(f)['meta_info']
        ours = meta['written_by'] in (WRITTEN_BY, ) + _WRITTEN_BEFORE
        return meta if ours else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _same_source(meta: dict, item: dict) -> bool:
    """Whether results ``meta`` are of ``item``'s file (arrays and webcams
    are always rewritten)."""
    if item['kind'] not in ('image', 'video'):
        return True
    source = meta.get('source') or osp.realpath(str(meta.get('input', '')))
    return source == osp.realpath(item['source'])
