# Copyright (c) peclr_mm authors. All rights reserved.
"""Pictures of the test predictions, as mmpose's ``PoseVisualizationHook``
makes them for 2-D pose (``tools/test.py --show-dir DIR --interval N``)."""
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmpose.registry import HOOKS

__all__ = ['Hand3dVisualizationHook']


@HOOKS.register_module()
class Hand3dVisualizationHook(Hook):
    """Draw every ``interval``-th test (and validation) sample with the
    runner's visualizer (:class:`~peclr_mm.visualization.
    Hand3dLocalVisualizer`): the predicted and the true 2-D skeleton over
    the image and the 3-D skeleton against the ground truth.

    Test pictures go to ``{work_dir}/{timestamp}/{out_dir}`` (or ``out_dir``
    when it is absolute), one JPEG per drawn sample, named after the image
    and its index in the test run; validation pictures go to the
    visualizer's backends.

    Args:
        enable (bool): draw at all (off by default; ``--show-dir`` turns it
            on).
        interval (int): draw one sample in ``interval``.
        out_dir (str, optional): where the test pictures go.
        show (bool): also show each picture in a window.
        wait_time (float): seconds a shown picture stays.
    """

    priority = 'NORMAL'

    def __init__(self,
                 enable: bool = False,
                 interval: int = 50,
                 out_dir: Optional[str] = None,
                 show: bool = False,
                 wait_time: float = 0.):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.enable = enable
        self.interval = interval
        self.out_dir = out_dir
        self.show = show
        self.wait_time = wait_time
        self._test_index = 0
        self._val_index = 0

    def _draw(self, runner, outputs: Sequence, index: int,
              out_dir: Optional[str]) -> int:
        import mmcv
        from mmengine import fileio
        visualizer = runner.visualizer
        for sample in outputs:
            index += 1
            if (index - 1) % self.interval:
                continue
            img_path = sample.metainfo['img_path']
            img = mmcv.imfrombytes(fileio.get(img_path), channel_order='rgb')
            stem = osp.splitext(osp.basename(img_path))[0]
            out_file = None if out_dir is None else osp.join(
                out_dir, f'{stem}_{index:06d}.jpg')
            visualizer.add_datasample(
                osp.basename(img_path),
                img,
                sample,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                step=index)
        return index

    def before_test(self, runner) -> None:
        self._test_index = 0
        visualizer = runner.visualizer
        if hasattr(visualizer, 'set_dataset_meta'):
            visualizer.set_dataset_meta(
                getattr(runner.test_dataloader.dataset, 'metainfo', None))

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.enable or not outputs:
            return
        out_dir = None
        if self.out_dir is not None:
            out_dir = self.out_dir if osp.isabs(self.out_dir) else osp.join(
                runner.work_dir, runner.timestamp, self.out_dir)
            os.makedirs(out_dir, exist_ok=True)
        self._test_index = self._draw(runner, outputs, self._test_index,
                                      out_dir)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if not self.enable or not outputs or batch_idx:
            return
        # the first sample of each validation, into the backends
        self._draw(runner, outputs[:1], 0, None)
