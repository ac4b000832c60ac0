# Copyright (c) peclr_mm authors. All rights reserved.
"""HeadlineLogProcessor: the test log line leaves the per-joint errors out,
the returned tag (json log, visualizer backends) keeps every metric."""
from types import SimpleNamespace

from mmengine.logging import MessageHub

from peclr_mm.engine.log_processor import HeadlineLogProcessor


def _runner(name):
    hub = MessageHub.get_instance(name)
    for key, value in (('test/EPE', 12.5), ('test/EPE_j00', 3.0),
                       ('test/PA-EPE_j20', 4.0), ('test/AUC', 0.75),
                       ('test/time', 0.1), ('test/data_time', 0.01)):
        hub.update_scalar(key, value)
    return SimpleNamespace(
        message_hub=hub,
        test_dataloader=[0] * 4,
        test_loop=SimpleNamespace(dataloader=[0] * 4, iter=0),
        epoch=0,
        iter=0,
        max_epochs=1,
        max_iters=1)


def test_per_joint_errors_leave_the_line_not_the_tag():
    runner = _runner('test_headline_log')
    tag, line = HeadlineLogProcessor(
        by_epoch=True).get_log_after_epoch(runner, 3, 'test')
    assert 'EPE: 12.5' in line and 'AUC: 0.75' in line
    assert '_j00' not in line and '_j20' not in line
    assert tag['EPE_j00'] == 3.0 and tag['PA-EPE_j20'] == 4.0
    assert tag['EPE'] == 12.5


def test_hide_pattern_is_a_setting():
    runner = _runner('test_headline_log_auc')
    tag, line = HeadlineLogProcessor(
        hide='AUC', by_epoch=True).get_log_after_epoch(runner, 3, 'test')
    assert 'AUC' not in line and 'EPE_j00: 3.0' in line
    assert tag['AUC'] == 0.75
