# Copyright (c) peclr_mm authors. All rights reserved.
"""Image loading that names the file and the fault."""
import os.path as osp
from typing import Optional

import numpy as np
from mmpose.datasets.transforms import LoadImage
from mmpose.registry import TRANSFORMS

from ...utils.arrays import image_size_problem

__all__ = ['LoadHandImage', 'LoadRandomVersion']


@TRANSFORMS.register_module()
class LoadHandImage(LoadImage):
    """mmpose's ``LoadImage`` with errors that say what is wrong.

    mmpose answers every failure with "Please check whether the file
    exists", also for a file that exists but cannot be decoded (a truncated
    download, a zero-byte file). This one raises ``FileNotFoundError`` for a
    missing file and ``OSError("corrupt or unreadable image FILE ...")`` for
    one that does not decode, and refuses images under ``MIN_IMAGE_SIDE``
    (32) pixels a side. ``tools/misc/check_dataset.py`` finds all such
    files of a data set before training.

    Required keys: ``img_path`` (or ``img``). Added keys: ``img``,
    ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('img_path')
        if 'img' in results or path is None:
            out = super().transform(results)
            problem = image_size_problem(out['img'].shape)
            if problem is not None:
                raise OSError(f'image {path or "<array>"}: {problem}')
            return out
        try:
            out = super().transform(results)
        except Exception as exc:  # mmcv raises several types
            # only on failure: no extra file-system call per loaded image
            if '://' not in path and not osp.isfile(path):
                raise FileNotFoundError(
                    f'image {path} does not exist') from exc
            cause = str(exc).split('` occurs when loading')[0].strip('`')
            raise OSError(f'corrupt or unreadable image {path} ({cause}); '
                          'tools/misc/check_dataset.py lists every such '
                          'file of a data set') from exc
        if out is None and not self.ignore_empty:
            raise OSError(f'corrupt or unreadable image {path}')
        if out is not None:
            problem = image_size_problem(out['img'].shape)
            if problem is not None:
                raise OSError(f'image {path}: {problem}')
        return out


@TRANSFORMS.register_module()
class LoadRandomVersion(LoadHandImage):
    """Replace the image by a random version of the same hand.

    FreiHAND stores each training hand in ``V`` versions: the same pose,
    camera and hand mask composited on other backgrounds in other colours,
    image ``k + N * v`` of ``training/rgb`` (the synthetic generator writes
    the same layout). As the first transform of
    ``MultiViewWithGeometry``'s view pipeline, each view draws its own
    version, so the two views of a contrastive pair share the hand and its
    geometry (the recorded warps stay exact) but not the background.
    Without it, a pair's shared background is the cheapest way to tell it
    from the others, and the features learn the picture rather than the
    hand (``docs/results/pretrain_probe.md``). Not part of the paper's
    recipe; an option for data sets that have versions.

    Required keys: ``img_path``, ``sample_id``, ``num_annotations``,
    ``num_versions`` (``FreiHand3DDataset`` data infos). Modified keys:
    ``img``, ``img_path``, ``img_id``, ``version``, ``img_shape``,
    ``ori_shape``.

    Args:
        prob (float): probability of drawing a version (else the image is
            kept). The draw includes the current version.
        **kwargs: ``LoadHandImage``'s (mmpose ``LoadImage``'s) arguments.
    """

    def __init__(self, prob: float = 1., **kwargs):
        super().__init__(**kwargs)
        if not 0. <= prob <= 1.:
            raise ValueError(f'LoadRandomVersion: prob must be in [0, 1], '
                             f'got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> Optional[dict]:
        missing = [
            k for k in ('img_path', 'sample_id', 'num_annotations',
                        'num_versions') if k not in results
        ]
        if missing:
            raise KeyError(
                f'LoadRandomVersion needs {missing} in the sample (the data '
                'infos of FreiHand3DDataset carry them); got keys '
                f'{sorted(results)}')
        if np.random.rand() >= self.prob:
            return results
        v = int(np.random.randint(results['num_versions']))
        img_id = int(
            results['sample_id']) + int(results['num_annotations']) * v
        results = dict(results)
        results.pop('img', None)
        results.update(
            img_path=osp.join(
                osp.dirname(results['img_path']), f'{img_id:08d}.jpg'),
            img_id=img_id,
            version=v)
        return super().transform(results)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
