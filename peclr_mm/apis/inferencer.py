# Copyright (c) peclr_mm authors. All rights reserved.
"""``Hand3DInferencer``: 3-D hands in photographs, folders, videos and a
webcam, in the shape of mmpose's inferencers (``MMPoseInferencer``): a
config name or path plus weights; called on inputs it yields, per image or
frame, the predictions and, when asked, the drawn picture; it writes one
results file per input and optional pictures or an annotated video."""
import hashlib
import json
import os
import os.path as osp
import stat
import time
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from ..utils.io import atomic_write_json
from .detectors import build_detector
from .inference import HANDS, inference_topdown_hand3d, load_image

__all__ = [
    'Hand3DInferencer', 'resolve_config', 'expand_inputs', 'output_names',
    'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'WRITTEN_BY'
]

#: What a folder argument is expanded to.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
#: Inputs read frame by frame.
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
#: Written into every results file, so a later run knows the files are ours.
WRITTEN_BY = 'peclr_mm Hand3DInferencer'


def resolve_config(model: str) -> str:
    """The config file of ``model``: a path, or a config name looked up in
    the repository's ``configs/`` (or an installed package's
    ``.mim/configs``).

    Raises:
        ValueError: no such file or config name.
    """
    from .released import ReleaseError, find_config
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


def expand_inputs(inputs) -> List[dict]:
    """Each input as ``dict(kind, source, key, name)``: ``kind`` is
    ``'image'``, ``'array'``, ``'video'`` or ``'webcam'``; a folder stands
    for the images directly inside it (sorted); ``name`` is unique per
    input (see :func:`output_names`)."""
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
            found = sorted(
                osp.join(src, n) for n in os.listdir(src)
                if n.lower().endswith(IMAGE_EXTENSIONS))
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


def _video_frames(item: dict):
    import cv2
    cap = cv2.VideoCapture(item['source'])
    what = ('webcam ' + str(item['source'])
            if item['kind'] == 'webcam' else item['source'])
    if not cap.isOpened():
        raise OSError(f'{what}: cannot be opened as a video (expected a '
                      f'video file or camera OpenCV can read)')
    item['fps'] = cap.get(cv2.CAP_PROP_FPS) or 30.
    frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    item['frames'] = frame_count if frame_count > 0 else None
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


def _instance(sample, names: Sequence[str], det: Optional[dict]) -> dict:
    pred, meta = sample.pred_instances, sample.metainfo
    K = np.asarray(meta['K'], np.float64)
    return dict(
        keypoints=np.asarray(pred.keypoints)[0].round(2).tolist(),
        keypoint_scores=np.asarray(pred.keypoint_scores)[0].round(4).tolist(),
        keypoints_3d=np.asarray(pred.keypoints_3d)[0].round(6).tolist(),
        bbox=np.asarray(pred.bboxes)[0].round(2).tolist(),
        bbox_score=round(float(np.asarray(pred.bbox_scores)[0]), 4),
        handedness=meta['handedness'],
        handedness_score=None if det is None else det.get('handedness_score'),
        handedness_source=meta['handedness_source'],
        bbox_source=meta['bbox_source'],
        K=K.round(4).tolist(),
        K_source=meta['K_source'],
        bone_length=meta['bone_length'],
        bone_length_source=meta['bone_length_source'])


class Hand3DInferencer:
    """3-D hand pose on photographs, folders, videos and a webcam: every
    hand found (MediaPipe Hands by default, or an mmdet detector), left or
    right decided, each hand cropped by the config's crop rule, left hands
    mirrored by their crop, 3-D joints out in the image's own frame.

    Args:
        model: a config file or a config name (e.g.
            ``'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64'``).
        weights: checkpoint path or address (loaded safely, compared with
            the model first); ``None`` keeps the config's initialisation.
        device: torch device (``None``: ``'cpu'``).
        detector: ``'mediapipe'``, ``None`` (the whole image is one hand's
            crop) or an mmdet config file.
        det_weights: the mmdet detector's weights.
        det_cat_ids: the mmdet classes that are hands.
        det_score_thr: the lowest mmdet box score kept.
        max_hands: the most hands per image (MediaPipe).
        K: (3, 3) intrinsics of every input; ``None`` assumes a camera per
            input (stated in the results).
        bone_length: bone 9-10 in metres; ``None`` assumes FreiHAND's
            mean (stated in the results).
        hand: ``'left'``/``'right'`` for every hand, overriding the
            detector; ``None`` uses the detector's handedness (an mmdet
            detector or no detector: right, stated as assumed).
        recrop: a second pass on a crop around the first prediction;
            ``None`` keeps the config's choice.

    Raises:
        ValueError: a config that is not a 3-D hand model, weights that do
            not fit it, a detector config without weights.
        UnsafeCheckpointError: a checkpoint that would run code to load.
    """

    def __init__(self,
                 model: str,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 detector: Optional[str] = 'mediapipe',
                 det_weights: Optional[str] = None,
                 det_cat_ids: Sequence[int] = (0, ),
                 det_score_thr: float = 0.3,
                 max_hands: int = 2,
                 K: Optional[np.ndarray] = None,
                 bone_length: Optional[float] = None,
                 hand: Optional[str] = None,
                 recrop: Optional[bool] = None):
        from mmengine.config import Config
        from mmengine.registry import DefaultScope
        from mmengine.runner import load_checkpoint
        from mmpose.apis import init_model
        from mmpose.registry import MODELS

        from ..models.pose_estimators import TopdownHand3DEstimator
        from ..utils.checkpoint import check_checkpoint_matches
        if hand is not None and hand not in HANDS:
            raise ValueError(
                f"hand must be 'right', 'left' or None, got {hand!r}")
        config = resolve_config(model)
        self.device = device or 'cpu'
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
        self._det_args = dict(
            detector=detector,
            det_weights=det_weights,
            device=self.device,
            max_hands=max_hands)
        if detector not in (None, 'none', 'mediapipe'):
            self._det_args.update(cat_ids=det_cat_ids, score_thr=det_score_thr)
        # built once here, so a bad detector fails before any input is read
        self.detector = build_detector(**self._det_args)
        self._video_detector = None
        self.K = K
        self.bone_length = bone_length
        self.hand = hand
        self.recrop = recrop
        meta = self.model.dataset_meta or {}
        names = meta.get('keypoint_id2name')
        self.keypoint_names = [names[i]
                               for i in range(len(names))] if names else None
        self.timing = dict(detector_ms=[], model_ms=[])
        self.errors: List[str] = []

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

    def predict_image(self,
                      img: Union[str, np.ndarray],
                      bboxes: Optional[np.ndarray] = None,
                      detector=None) -> tuple:
        """Detect and predict every hand of one image.

        Args:
            img: path or BGR array.
            bboxes: (N, 4) boxes that replace the detector's.
            detector: the detector to use (default: the inferencer's).

        Returns:
            tuple: the ``PoseDataSample`` per hand, the loaded image dict,
            the detector's hands (``None`` without a detector) and a note
            (``'no hand found'`` or ``None``).
        """
        info = load_image(img)
        det = self.detector if detector is None else detector
        dets = None
        t0 = time.perf_counter()
        if bboxes is not None:
            arr = np.asarray(bboxes, np.float64)
            if arr.ndim not in (1, 2) or arr.shape[-1] != 4:
                raise ValueError(
                    f'{info["img_path"]}: boxes must be [x1, y1, x2, y2] or '
                    f'(N, 4), got shape {list(arr.shape)}')
            dets = [
                dict(
                    bbox=b,
                    bbox_score=1.,
                    handedness=None,
                    handedness_score=None) for b in arr.reshape(-1, 4)
            ]
            box_source = 'given'
        elif det is not None:
            dets = det(info['img'])
            box_source = 'detector'
        else:
            box_source = 'whole image'
        t1 = time.perf_counter()
        if dets is not None:
            self.timing['detector_ms'].append(1000 * (t1 - t0))
        if dets is not None and not dets:
            return [], info, dets, 'no hand found'
        hands, hand_sources = [], []
        for d in dets or [dict(handedness=None)]:
            if self.hand is not None:
                hands.append(self.hand)
                hand_sources.append('given')
            elif d.get('handedness') is not None:
                hands.append(d['handedness'])
                hand_sources.append('detector')
            else:
                hands.append('right')
                hand_sources.append('assumed: right (no handedness from '
                                    'the detector; pass hand=/--hand)')
        samples = inference_topdown_hand3d(
            self.model,
            info,
            bboxes=None if dets is None else [d['bbox'] for d in dets],
            hands=hands,
            K=self.K,
            bone_length=self.bone_length,
            bbox_scores=None
            if dets is None else [d['bbox_score'] for d in dets],
            recrop=self.recrop)
        self.timing['model_ms'].append(1000 * (time.perf_counter() - t1))
        for sample, source in zip(samples, hand_sources):
            sample.set_metainfo(
                dict(handedness_source=source, bbox_source=box_source))
        return samples, info, dets, None

    def visualize(self, img: np.ndarray, samples) -> np.ndarray:
        """The hands' skeletons, boxes and handedness over a copy of
        ``img`` (OpenCV, fast enough for every video frame)."""
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
            cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), thickness)
            z = np.asarray(sample.pred_instances.keypoints_3d)[0, 0, 2]
            label = f'{sample.metainfo["handedness"]} z={z * 1000:.0f}mm'
            cv2.putText(out, label, (x1, max(12, y1 - 4)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, (0, 255, 0),
                        thickness, cv2.LINE_AA)
        if out is img:
            out = img.copy()
        return out

    def _meta_info(self, item: dict) -> dict:
        return dict(
            written_by=WRITTEN_BY,
            input=item['key'] if item['kind'] != 'array' else '<array>',
            kind=item['kind'],
            config=self.config,
            weights=self.weights,
            keypoint_names=self.keypoint_names,
            units='keypoints and bbox in image pixels (x right, y down); '
            'keypoints_3d in metres, camera frame (x right, y down, z '
            'forward); K in pixels; bone_length (joints 9-10) in metres',
            keypoint_scores='the 2.5-D heads give no per-joint confidence: '
            "each joint carries its hand's bbox_score")

    def __call__(self,
                 inputs,
                 out_dir: Optional[str] = None,
                 return_vis: bool = False,
                 show: bool = False,
                 draw_every: int = 1,
                 bboxes: Optional[Union[Sequence[float], Dict[str,
                                                              list]]] = None,
                 return_datasamples: bool = False,
                 progress: bool = False,
                 skip_errors: bool = False) -> Iterator[dict]:
        """Predict every hand of every input.

        Args:
            inputs: an image path, a BGR array, a folder, a video file,
                ``'webcam'``/``'webcam:N'`` or an int camera index, or a
                list of these.
            out_dir: where to write ``predictions/NAME.json`` (one per
                input) and, unless ``draw_every`` is 0,
                ``visualizations/NAME.jpg`` (a video or webcam:
                ``NAME.mp4``); a folder counts as the images in it.
            return_vis: yield the drawn pictures too.
            show: show each drawn picture in a window (needs an OpenCV
                with GUI support).
            draw_every: draw every N-th image or frame (0: no pictures).
            bboxes: one box ``[x1, y1, x2, y2]`` for every image, or a dict
                from image path or file name to a list of boxes; replaces
                the detector.
            return_datasamples: yield ``PoseDataSample``s instead of
                mmpose-shaped dicts.
            progress: a progress bar on stderr.
            skip_errors: an input (or video frame) that cannot be read or
                predicted, or whose outputs would overwrite a file this
                inferencer did not write, is recorded in ``self.errors``
                (and yielded with ``error``) and the others go on;
                ``False`` raises.

        Yields:
            dict: per image or frame, ``predictions`` (a list with one
            entry: the list of that image's hands), ``visualization`` (a
            list with the drawn image, or empty), ``input``, ``kind``,
            ``frame_id``,
            ``note`` (``'no hand found'`` or ``None``) and ``error``
            (with ``skip_errors``: what went wrong, or ``None``).

        Raises:
            ValueError, OSError: bad inputs, named; an output path that is
                an input or a file this inferencer did not write.
        """
        if draw_every < 0:
            raise ValueError(f'draw_every must be >= 0, got {draw_every}')
        items = expand_inputs(inputs)
        all_inputs = {
            osp.realpath(item['source'])
            for item in items if item['kind'] in ('image', 'video')
        }
        if out_dir is not None and not skip_errors:
            for item in items:  # refuse before anything is written
                self._check_outputs(item, out_dir, all_inputs, draw_every)
        self.errors = []
        bar = None
        if progress:
            from tqdm import tqdm
            videos = [i for i in items if i['kind'] in ('video', 'webcam')]
            bar = tqdm(
                total=None if videos else len(items),
                unit='img',
                desc='hands 3-D')
        try:
            for result in self._run_items(items, out_dir, all_inputs,
                                          return_vis, show, draw_every, bboxes,
                                          return_datasamples, skip_errors):
                if bar is not None:
                    bar.update(1)
                yield result
        finally:
            if bar is not None:
                bar.close()

    def _run_items(self, items, out_dir, all_inputs, return_vis, show,
                   draw_every, bboxes, return_datasamples,
                   skip_errors) -> Iterator[dict]:
        for item in items:
            if out_dir is not None and skip_errors:
                try:
                    self._check_outputs(item, out_dir, all_inputs, draw_every)
                except ValueError as exc:
                    self.errors.append(str(exc))
                    yield self._error_result(item, 0, exc)
                    continue
            try:
                yield from self._run_item(item, out_dir, return_vis, show,
                                          draw_every, bboxes,
                                          return_datasamples, skip_errors)
            except (OSError, ValueError) as exc:  # a video that cannot open
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

    def _paths(self, item: dict, out_dir: str) -> tuple:
        pred = osp.join(out_dir, 'predictions', item['name'] + '.json')
        if item['kind'] in ('video', 'webcam'):
            vis = osp.join(out_dir, 'visualizations', item['name'] + '.mp4')
        else:
            vis = osp.join(out_dir, 'visualizations', item['name'] + '.jpg')
        return pred, vis

    def _check_outputs(self, item, out_dir, inputs, draw_every) -> None:
        pred, vis = self._paths(item, out_dir)
        ours = _ours(pred)
        outs = [pred] + ([vis] if draw_every else [])
        for out in outs:
            if osp.realpath(out) in inputs:
                raise ValueError(f'{out} is one of the inputs; choose '
                                 'another out_dir')
            if osp.lexists(out) and not ours:
                raise ValueError(f'{out} exists and was not written by '
                                 f'{WRITTEN_BY}; choose another out_dir')

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

    def _frames(self, item: dict):
        if item['kind'] in ('video', 'webcam'):
            yield from _video_frames(item)
        else:
            yield 0, item['source']

    def _run_item(self, item, out_dir, return_vis, show, draw_every, bboxes,
                  return_datasamples, skip_errors) -> Iterator[dict]:
        import cv2
        detector = self._detector_for(item['kind'])
        records, writer = [], None
        pred_file, vis_path = (
            self._paths(item, out_dir) if out_dir is not None else
            (None, None))
        frames = self._frames(item)
        try:
            for frame_id, frame in frames:
                path = frame if isinstance(frame, str) else item['key']
                try:
                    samples, info, dets, note = self.predict_image(
                        frame,
                        self._boxes_for(bboxes, path),
                        detector=detector)
                except (OSError, ValueError) as exc:
                    if not skip_errors:
                        raise
                    if item['kind'] in ('video', 'webcam'):
                        exc = type(exc)(f'{item["key"]} frame {frame_id}: '
                                        f'{exc}')
                        records.append(
                            dict(
                                frame_id=frame_id,
                                instances=[],
                                error=str(exc)))
                    self.errors.append(str(exc))
                    yield self._error_result(item, frame_id, exc)
                    continue
                if not isinstance(frame, str) and item['kind'] != 'array':
                    info['img_path'] = f'{item["key"]}#{frame_id}'
                instances = [
                    _instance(s, self.keypoint_names, d)
                    for s, d in zip(samples, dets or [None] * len(samples))
                ]
                record = dict(frame_id=frame_id, instances=instances)
                if note:
                    record['note'] = note
                records.append(record)
                drawn = None
                if draw_every and frame_id % draw_every == 0 and (
                        return_vis or show or out_dir is not None):
                    drawn = self.visualize(info['img'], samples)
                    if show:
                        cv2.imshow('peclr_mm', drawn)
                        if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                            return
                    if vis_path is not None:
                        writer = self._write_vis(item, vis_path, drawn, writer)
                yield dict(
                    input=item['key']
                    if item['kind'] != 'array' else '<array>',
                    kind=item['kind'],
                    frame_id=frame_id,
                    predictions=[samples if return_datasamples else instances],
                    visualization=[drawn]
                    if return_vis and drawn is not None else [],
                    note=note,
                    error=None)
        finally:
            if writer is not None:
                writer.release()
            if pred_file is not None and records:
                atomic_write_json(
                    pred_file,
                    dict(
                        meta_info=self._meta_info(item),
                        instance_info=records),
                    indent=1)

    def _write_vis(self, item, vis_path, drawn, writer):
        import cv2

        from ..utils.io import atomic_write_image
        if item['kind'] in ('video', 'webcam'):
            if writer is None:
                os.makedirs(osp.dirname(vis_path), exist_ok=True)
                h, w = drawn.shape[:2]
                writer = cv2.VideoWriter(vis_path,
                                         cv2.VideoWriter_fourcc(*'mp4v'),
                                         float(item.get('fps', 30.)), (w, h))
            writer.write(drawn)
            return writer
        atomic_write_image(vis_path, drawn)
        return writer


def _ours(json_file: str) -> bool:
    try:
        with open(json_file) as f:
            return json.load(f)['meta_info']['written_by'] == WRITTEN_BY
    except (OSError, ValueError, KeyError, TypeError):
        return False
