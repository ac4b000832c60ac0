# Copyright (c) peclr_mm authors. All rights reserved.
"""Write a model's 2-D keypoints for a whole split: the pseudo-labels that
``tools/mine_similar_hands.py --keypoints`` mines similar hands from."""
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS

from ...utils.camera import project
from ...utils.io import atomic_write_json
from .freihand_metric import _to_numpy

__all__ = ['Keypoints2DWriter']


@METRICS.register_module()
class Keypoints2DWriter(BaseMetric):
    """Keep every sample's predicted 2-D joints and write them, ordered by
    annotation, to one json array ``(N, 21, 2)`` of image pixels.

    Use it as the test evaluator of a 2-D (or 2.5-D) model run on the split
    to label, e.g.::

        python tools/test.py CONFIG CHECKPOINT --cfg-options \\
            test_dataloader.dataset.split=training \\
            test_evaluator.type=Keypoints2DWriter \\
            test_evaluator.out_file=work_dirs/pseudo_2d.json

    Each data sample needs ``pred_instances['keypoints']`` (1, 21, 2) in
    original-image pixels and the metainfo ``sample_id`` (annotation
    index); the samples must be one image per annotation, ``sample_id``
    0..N-1. When the samples also carry the ground truth
    (``gt_instances['keypoints_3d']`` and the intrinsics ``K``), the labels'
    own 2-D error is returned, so the quality of the pseudo-labels is known.

    Args:
        out_file (str): the json to write; an existing file is never
            replaced.
        num_samples (int, optional): the number of annotations the split
            must have (refused otherwise); None accepts any complete 0..N-1.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for collecting results
            across ranks.
        prefix (str, optional): metric name prefix; defaults to
            ``'keypoints2d'``.
    """

    default_prefix: Optional[str] = 'keypoints2d'

    def __init__(self,
                 out_file: str,
                 num_samples: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_file.endswith('.json'):
            raise ValueError(f'Keypoints2DWriter: out_file must be a .json, '
                             f'got {out_file!r}')
        self.out_file = out_file
        self.num_samples = num_samples

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep each sample's id, 2-D joints and, when present, its ground
        truth."""
        for sample in data_samples:
            pred = sample.get('pred_instances') or {}
            if 'keypoints' not in pred:
                raise KeyError("Keypoints2DWriter needs data_sample["
                               "'pred_instances']['keypoints'] (1, 21, 2) "
                               f'image pixels; it holds {sorted(pred)}')
            uv = _to_numpy(pred['keypoints'], 'pred_instances.keypoints', 2)
            if sample.get('sample_id') is None:
                raise KeyError('Keypoints2DWriter needs the metainfo '
                               'sample_id (annotation index) of every '
                               'sample; add it to the meta_keys of the '
                               'packing transform')
            result = dict(sample_id=int(sample['sample_id']), uv=uv)
            gt = sample.get('gt_instances') or {}
            if 'keypoints_3d' in gt and sample.get('K') is not None:
                result['gt_uv'] = project(
                    _to_numpy(gt['keypoints_3d'], 'gt_instances.keypoints_3d'),
                    np.asarray(sample['K'], np.float64).reshape(3, 3))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the json (atomically, never over an existing file).

        Returns:
            dict: ``num_written`` and, when every sample had its ground
            truth, ``EPE-2D`` (mean joint distance of the written joints to
            the truth's projection, image pixels).
        """
        if not results:
            raise ValueError('Keypoints2DWriter got no samples')
        ids = np.array([r['sample_id'] for r in results])
        order = np.argsort(ids, kind='stable')
        ids = ids[order]
        n = len(ids) if self.num_samples is None else self.num_samples
        if not np.array_equal(ids, np.arange(n)):
            repeated = np.unique(ids[1:][ids[1:] == ids[:-1]])
            missing = np.setdiff1d(np.arange(n), ids)
            raise ValueError(
                f'refusing to write {self.out_file}: it takes one '
                f'prediction per annotation, sample_id 0..{n - 1}; got '
                f'{len(ids)}' +
                (f', sample_id {repeated[:5].tolist()} repeated (test one '
                 'image version)' if len(repeated) else '') +
                (f', missing {missing[:5].tolist()}' if len(missing) else ''))
        if os.path.exists(self.out_file):
            raise FileExistsError(f'{self.out_file} exists; Keypoints2DWriter'
                                  ' never replaces a file (choose another '
                                  'out_file)')
        uv = np.stack([results[i]['uv'] for i in order])
        atomic_write_json(self.out_file, np.round(uv, 3).tolist())
        metrics = {'num_written': float(len(uv))}
        if all('gt_uv' in r for r in results):
            gt = np.stack([results[i]['gt_uv'] for i in order])
            metrics['EPE-2D'] = float(np.linalg.norm(uv - gt, axis=-1).mean())
        MMLogger.get_current_instance().info(
            f'{len(uv)} 2-D keypoint sets written to {self.out_file}' +
            (f' (EPE-2D {metrics["EPE-2D"]:.2f} px against the ground truth)'
             if 'EPE-2D' in metrics else ''))
        return metrics
