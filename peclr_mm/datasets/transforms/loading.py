# Copyright (c) peclr_mm authors. All rights reserved.
"""Image loading that names the file and the fault."""
import os.path as osp
from typing import Optional

from mmpose.datasets.transforms import LoadImage
from mmpose.registry import TRANSFORMS

__all__ = ['LoadHandImage']


@TRANSFORMS.register_module()
class LoadHandImage(LoadImage):
    """mmpose's ``LoadImage`` with errors that say what is wrong.

    mmpose answers every failure with "Please check whether the file
    exists", also for a file that exists but cannot be decoded (a truncated
    download, a zero-byte file). This one raises ``FileNotFoundError`` for a
    missing file and ``OSError("corrupt or unreadable image FILE ...")`` for
    one that does not decode. ``tools/misc/check_dataset.py`` finds all such
    files of a data set before training.

    Required keys: ``img_path`` (or ``img``). Added keys: ``img``,
    ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('img_path')
        if 'img' in results or path is None:
            return super().transform(results)
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
        return out
