# Copyright (c) peclr_mm authors. All rights reserved.
"""Headline-only validation and test log lines."""
import re
from collections import OrderedDict

from mmengine.runner import LogProcessor
from mmpose.registry import LOG_PROCESSORS

__all__ = ['HeadlineLogProcessor']


@LOG_PROCESSORS.register_module()
class HeadlineLogProcessor(LogProcessor):
    """mmengine's ``LogProcessor`` whose validation and test log lines leave
    out the metrics whose names match ``hide`` (by default the per-joint
    errors ``EPE_j00`` ... ``PA-EPE_j20``); every metric still reaches the
    json log and the visualizer backends.

    Args:
        hide (str): regular expression searched in each metric name.
        **kwargs: mmengine's ``LogProcessor`` arguments.
    """

    def __init__(self, hide: str = r'_j\d+$', **kwargs):
        super().__init__(**kwargs)
        self.hide = hide
        self._hidden = re.compile(hide)
        self._filtering = False

    def get_log_after_epoch(self,
                            runner,
                            batch_idx: int,
                            mode: str,
                            with_non_scalar: bool = False):
        tag, _ = super().get_log_after_epoch(runner, batch_idx, mode,
                                             with_non_scalar)
        self._filtering = True
        try:
            _, log_str = super().get_log_after_epoch(runner, batch_idx, mode,
                                                     with_non_scalar)
        finally:
            self._filtering = False
        return tag, log_str

    def _collect_scalars(self, *args, **kwargs) -> OrderedDict:
        tag = super()._collect_scalars(*args, **kwargs)
        if self._filtering:
            tag = OrderedDict(
                (k, v) for k, v in tag.items() if not self._hidden.search(k))
        return tag
