# Copyright (c) peclr_mm authors. All rights reserved.
"""FreiHAND 3-D keypoint metric (the server's scores) and submission."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS

from ...utils.arrays import NUM_JOINTS
from ...utils.camera import project
from ..functional import epe_2d, named_scores
from ..mean_pose import (MEAN_POSE_KEYS, MeanPose, load_mean_pose,
                         mean_pose_scores)
from ..submission import write_freihand_submission

__all__ = ['FreiHand3DMetric']

# FreiHAND joint order: wrist, then four joints per finger, base to tip.
_FINGERS = {
    'wrist': [0],
    'thumb': [1, 2, 3, 4],
    'index': [5, 6, 7, 8],
    'middle': [9, 10, 11, 12],
    'ring': [13, 14, 15, 16],
    'pinky': [17, 18, 19, 20],
}


def _to_numpy(value, what: str, dim: int = 3) -> np.ndarray:
    """(1, 21, dim) or (21, dim) tensor/array -> float64 (21, dim)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != NUM_JOINTS * dim or arr.shape[-2:] != (NUM_JOINTS, dim):
        unit = 'metres' if dim == 3 else 'image pixels'
        raise ValueError(f'{what} must have shape (1, {NUM_JOINTS}, {dim}) '
                         f'(one hand per sample, {unit}), got {arr.shape}')
    return arr.reshape(NUM_JOINTS, dim)


def images_root(img_path: Optional[str]) -> Optional[str]:
    """The FreiHAND-layout root of an image, ``ROOT`` of
    ``ROOT/{split}/rgb/NAME`` (how :class:`FreiHand3DDataset` names its
    images), or ``None`` for a path of another layout."""
    if not img_path:
        return None
    rgb = osp.dirname(osp.abspath(img_path))
    if osp.basename(rgb) != 'rgb':
        return None
    return osp.dirname(osp.dirname(rgb))


def _field(data_sample: dict, group: str, key: str = 'keypoints_3d'):
    instances = data_sample.get(group)
    if instances is None or key not in instances:
        found = sorted(instances) if instances is not None else None
        raise KeyError(f"FreiHand3DMetric needs data_sample['{group}']"
                       f"['{key}'] (1, {NUM_JOINTS}, 3) in metres; "
                       f'{group} holds {found}')
    return _to_numpy(instances[key], f'{group}.{key}')


@METRICS.register_module()
class FreiHand3DMetric(BaseMetric):
    """The FreiHAND server's 3-D keypoint scores, optionally with the file to
    submit to it.

    Scores come from :func:`peclr_mm.evaluation.freihand_scores`: EPE and
    Procrustes-aligned PA-EPE in mm and the AUC of the PCK curve over
    0..50 mm, unaligned and aligned (per joint too with ``per_joint``);
    beyond the server's scores, the root-relative error ``RR-EPE`` (wrist
    aligned, mm: keeps the global rotation and scale that PA-EPE aligns
    away) and, when
    the samples carry their intrinsics ``K`` (metainfo), the 2-D error
    ``EPE-2D`` in image pixels against the projection of the ground truth:
    of the predicted 2-D ``keypoints`` where the model gives them (a 2.5-D
    model predicts them directly; projecting its 3-D joints instead would
    score its root depth too, and a joint decoded at or behind the camera
    would land anywhere), else of the projection of ``keypoints_3d``.

    Each data sample (``PoseDataSample.to_dict()``) must hold
    ``pred_instances['keypoints_3d']`` and, when ``gt_available``,
    ``gt_instances['keypoints_3d']``, both (1, 21, 3) metres in the camera
    frame, and, to write a submission, the metainfo ``sample_id`` (the
    annotation index) and ``img_id``.

    Args:
        outfile_prefix (str, optional): when set, write
            ``{outfile_prefix}.pred.json`` (the official
            ``[xyz_list, verts_list]``, zero vertices) and
            ``{outfile_prefix}.pred.zip`` (the file to upload) with the
            predictions ordered by ``sample_id``, one per annotation.
        mean_pose (dict, optional): where to take the mean-pose reference
            (docs/design.md section 4c) from: ``dict(data_root=None,
            subset=None, subset_seed=0)``; the training annotations
            ``training_{xyz,K,scale}.json`` of the FreiHAND-layout
            ``data_root`` (or the labeled subset of them) are averaged.
            ``data_root=None`` (or ``dict()``) takes the root of the
            evaluated images (``ROOT/{split}/rgb/NAME``, each sample's
            ``img_path``), so that the reference moves with the test
            set's ``data_root``. Where the annotations are missing, the
            metric warns once, naming the file, and scores without the
            reference. ``None`` (the default): no reference.
            The metric then also reports ``mean-pose/KEY`` for KEY in EPE-2D,
            EPE-2D-in-box, RR-EPE, PA-EPE and the ratios ``ratio/...`` of the
            model's score to the mean pose's (below 1: the model learned
            something the average hand does not know). ``EPE-2D-in-box`` is the
            mean pose placed in each hand's ground-truth box, the fair 2-D
            reference for a model tested on crops around that box
            (:mod:`peclr_mm.evaluation.mean_pose`).
        submission_size (int, optional): the number of predictions a
            submission must hold, with ``sample_id`` 0..N-1 (3960 for
            FreiHAND's evaluation split); any other set is refused with the
            count and the first missing ids. ``None`` writes what was
            evaluated and warns about gaps.
        per_joint (bool): also return the per-joint errors ``EPE_jXX`` and
            ``PA-EPE_jXX`` (mm, joints 00..20). Defaults to ``False``: the
            log's table shows them per finger.
        gt_available (bool): ``False`` for a split without public labels:
            only the submission is written and no scores are returned, which
            needs ``outfile_prefix``. Defaults to ``True``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for collecting results
            across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): prefix of the metric names; defaults to
            ``'freihand'``.
    """

    default_prefix: Optional[str] = 'freihand'

    def __init__(self,
                 outfile_prefix: Optional[str] = None,
                 mean_pose: Optional[dict] = None,
                 submission_size: Optional[int] = None,
                 per_joint: bool = False,
                 gt_available: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not gt_available and outfile_prefix is None:
            raise ValueError('FreiHand3DMetric without ground truth '
                             '(gt_available=False) can only write a '
                             'submission: set outfile_prefix')
        self.outfile_prefix = outfile_prefix
        self.submission_size = submission_size
        self.per_joint = per_joint
        self.gt_available = gt_available
        if mean_pose is not None:
            unknown = set(mean_pose) - {'data_root', 'subset', 'subset_seed'}
            if unknown:
                raise ValueError(f'FreiHand3DMetric: unknown mean_pose keys '
                                 f'{sorted(unknown)}; expected data_root, '
                                 'subset, subset_seed')
        self.mean_pose_cfg = None if mean_pose is None else dict(mean_pose)
        # read once per root: every validation compares with the same
        # reference (None where the training labels are missing)
        self._mean_poses: Dict[tuple, Optional[MeanPose]] = {}
        if self.mean_pose_cfg and self.mean_pose_cfg.get('data_root'):
            self._reference(None)  # a bad root fails before testing

    def _reference(self, img_path: Optional[str]) -> Optional[MeanPose]:
        """The mean-pose reference of the configured root, or of the root of
        ``img_path`` (an evaluated image) when none is configured; ``None``
        with a warning (once per root) where it cannot be read."""
        if self.mean_pose_cfg is None:
            return None
        cfg = dict(self.mean_pose_cfg)
        root = cfg.pop('data_root', None)
        if root is None:
            root = images_root(img_path)
        key = (root and osp.abspath(root), cfg.get('subset'),
               cfg.get('subset_seed', 0))
        if key not in self._mean_poses:
            logger: MMLogger = MMLogger.get_current_instance()
            mean = None
            if root is None:
                logger.warning(
                    'FreiHand3DMetric: no mean-pose reference: the evaluated '
                    f'image {img_path} is not in a FreiHAND layout '
                    '(ROOT/{split}/rgb/NAME) to find the training labels '
                    'by; give mean_pose=dict(data_root=ROOT)')
            else:
                try:
                    mean = load_mean_pose(root, **cfg)
                except FileNotFoundError as exc:
                    logger.warning(
                        f'FreiHand3DMetric: no mean-pose reference, scoring '
                        f'without it: {exc} (the reference is the mean of '
                        f'the training labels of {root})')
            self._mean_poses[key] = mean
        return self._mean_poses[key]

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep each sample's prediction, ground truth and ids in metres."""
        for data_sample in data_samples:
            result = dict(
                pred=_field(data_sample, 'pred_instances'),
                sample_id=data_sample.get('sample_id'),
                img_id=data_sample.get('img_id'))
            if self.gt_available:
                result['gt'] = _field(data_sample, 'gt_instances')
            if self.mean_pose_cfg is not None and not self.results:
                result['img_path'] = data_sample.get('img_path')
            K = data_sample.get('K')
            if K is not None:
                result['K'] = np.asarray(K, dtype=np.float64).reshape(3, 3)
            if 'keypoints' in data_sample['pred_instances']:
                result['pred_2d'] = _to_numpy(
                    data_sample['pred_instances']['keypoints'],
                    'pred_instances.keypoints', 2)
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score all results; write the submission if asked to.

        Returns:
            dict: ``EPE``, ``PA-EPE``, ``RR-EPE`` (mm), ``AUC``,
            ``PA-AUC``, ``EPE-2D`` (px, when every sample has ``K``), with
            a mean-pose reference ``mean-pose/X`` and ``ratio/X`` for those
            of ``EPE-2D``, ``RR-EPE``, ``PA-EPE`` present, and with
            ``per_joint`` ``EPE_jXX``, ``PA-EPE_jXX`` (mm) for joints
            00..20; empty when ``gt_available`` is ``False``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if not results:
            raise ValueError('FreiHand3DMetric got no samples to evaluate')
        pred = np.stack([r['pred'] for r in results])
        metrics: Dict[str, float] = {}
        if self.gt_available:
            gt = np.stack([r['gt'] for r in results])
            metrics, scores = named_scores(pred, gt)
            K = None
            if all('K' in r for r in results):
                K = np.stack([r['K'] for r in results])
                if all('pred_2d' in r for r in results):
                    pred_2d = np.stack([r['pred_2d'] for r in results])
                    metrics['EPE-2D'] = float(
                        np.linalg.norm(pred_2d - project(gt, K),
                                       axis=-1).mean())
                else:
                    metrics['EPE-2D'] = epe_2d(pred, gt, K)
            reference = self._reference(results[0].get('img_path'))
            if reference is not None:
                mean = mean_pose_scores(reference, gt, K)
                for key in MEAN_POSE_KEYS:
                    # the model's EPE-2D against both 2-D references
                    score = metrics.get(key.replace('-in-box', ''))
                    if score is not None and key in mean:
                        metrics[f'mean-pose/{key}'] = mean[key]
                        metrics[f'ratio/{key}'] = score / mean[key]
            if self.per_joint:
                for name, key in (('EPE', 'per_joint_epe_mm'),
                                  ('PA-EPE', 'per_joint_pa_epe_mm')):
                    metrics.update({
                        f'{name}_j{j:02d}': float(err)
                        for j, err in enumerate(scores[key])
                    })
            logger.info(self._table(scores, len(results)))
            if reference is not None:
                logger.info('model vs mean pose of '
                            f'{reference.num} training hands: ' +
                            ', '.join(f"{k} x{metrics[f'ratio/{k}']:.2f} "
                                      f"of {metrics[f'mean-pose/{k}']:.2f}"
                                      for k in MEAN_POSE_KEYS
                                      if f'ratio/{k}' in metrics))
        if self.outfile_prefix is not None:
            self._write_submission(results, pred, logger)
        return metrics

    def _write_submission(self, results: List[dict], pred: np.ndarray,
                          logger: MMLogger) -> None:
        ids = [r['sample_id'] for r in results]
        if any(i is None for i in ids):
            raise KeyError('FreiHand3DMetric needs the metainfo sample_id '
                           '(annotation index) of every sample to order the '
                           'submission; add it to the meta_keys of '
                           'PackPoseInputs')
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind='stable')
        ids = ids[order]
        repeated = np.unique(ids[1:][ids[1:] == ids[:-1]])
        if len(repeated):
            raise ValueError(
                'a FreiHAND submission takes one prediction per annotation, '
                f'but sample_id {repeated[:5].tolist()} occur more than once '
                '(evaluate a single image version)')
        if self.submission_size is not None and not (
                len(ids) == self.submission_size
                and np.array_equal(ids, np.arange(self.submission_size))):
            missing = np.setdiff1d(np.arange(self.submission_size), ids)
            raise ValueError(
                f'refusing to write the FreiHAND submission '
                f'{self.outfile_prefix}.pred.json: it must hold '
                f'{self.submission_size} predictions (sample_id 0..'
                f'{self.submission_size - 1}), got {len(ids)}' +
                (f'; missing sample_id {missing[:5].tolist()}'
                 if len(missing) else '') +
                '. Test on the whole evaluation split, one image version.')
        if ids[0] != 0 or ids[-1] != len(ids) - 1:
            logger.warning(
                f'submission covers sample_id {ids[0]}..{ids[-1]} '
                f'({len(ids)} samples), not 0..{len(ids) - 1}: the server '
                'expects every annotation of the evaluation split')
        path = write_freihand_submission(
            f'{self.outfile_prefix}.pred.json',
            pred[order],
            zip_path=f'{self.outfile_prefix}.pred.zip')
        logger.info(f'FreiHAND submission ({len(ids)} samples) written to '
                    f'{osp.abspath(path)}')

    @staticmethod
    def _table(scores: dict, num: int) -> str:
        lines = [
            f'FreiHAND 3-D keypoints, {num} samples',
            f'{"":<10}{"EPE mm":>10}{"PA-EPE mm":>11}',
            f'{"all":<10}{scores["epe_mm"]:>10.2f}'
            f'{scores["pa_epe_mm"]:>11.2f}',
        ]
        for finger, joints in _FINGERS.items():
            epe = scores['per_joint_epe_mm'][joints].mean()
            pa_epe = scores['per_joint_pa_epe_mm'][joints].mean()
            lines.append(f'{finger:<10}{epe:>10.2f}{pa_epe:>11.2f}')
        lines.append(f'AUC 0-50 mm {scores["auc"]:.4f}, '
                     f'PA-AUC {scores["pa_auc"]:.4f}')
        return '\n'.join(lines)
