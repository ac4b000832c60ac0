# Copyright (c) peclr_mm authors. All rights reserved.
"""The mean-pose reference against a direct computation."""
import contextlib
import logging
import os.path as osp

import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmpose.registry import METRICS

from peclr_mm.evaluation import fit_mean_pose, load_mean_pose, mean_pose_scores
from peclr_mm.evaluation.functional import align_w_scale
from peclr_mm.utils.annotations import load_freihand_annotations
from tests.evaluation.test_freihand_metric import data_samples, run


def _project(xyz, K):
    uvw = np.einsum('nij,nkj->nki', K, xyz)
    return uvw[..., :2] / uvw[..., 2:]


def test_scores_equal_direct_computation(synthetic_root):
    train = load_freihand_annotations(synthetic_root, 'training')
    ev = load_freihand_annotations(synthetic_root, 'evaluation')
    mean = load_mean_pose(synthetic_root)
    assert mean.num == len(train['xyz'])
    # direct: plain loops over hands and joints
    rel = np.zeros((21, 3))
    uv = np.zeros((21, 2))
    for xyz, K in zip(train['xyz'], train['K']):
        rel += xyz - xyz[0]
        for j in range(21):
            p = K @ xyz[j]
            uv[j] += p[:2] / p[2]
    rel /= len(train['xyz'])
    uv /= len(train['xyz'])
    np.testing.assert_allclose(mean.rel_xyz, rel, atol=1e-12)
    np.testing.assert_allclose(mean.uv, uv, atol=1e-9)

    scores = mean_pose_scores(mean, ev['xyz'], ev['K'])
    d2, rr, pa = [], [], []
    for xyz, K in zip(ev['xyz'], ev['K']):
        pred = rel + xyz[0]
        for j in range(21):
            p = K @ xyz[j]
            d2.append(np.linalg.norm(p[:2] / p[2] - uv[j]))
        rr.extend(np.linalg.norm((pred - pred[0]) - (xyz - xyz[0]), axis=1))
        pa.extend(np.linalg.norm(align_w_scale(xyz, pred) - xyz, axis=1))
    assert scores['EPE-2D'] == pytest.approx(np.mean(d2))

    # in the box: each hand's square box around its joints, any padding
    def box(uv, pad):
        lo, hi = uv.min(0), uv.max(0)
        return (lo + hi) / 2, pad * max(hi - lo)

    rel_box = np.zeros((21, 2))
    for xyz, K in zip(train['xyz'], train['K']):
        uv_j = _project(xyz[None], K[None])[0]
        c, side = box(uv_j, 1.3)
        rel_box += (uv_j - c) / side
    rel_box /= len(train['xyz'])
    d2_box = []
    for xyz, K in zip(ev['xyz'], ev['K']):
        uv_j = _project(xyz[None], K[None])[0]
        c, side = box(uv_j, 1.3)
        d2_box.extend(np.linalg.norm(c + rel_box * side - uv_j, axis=1))
    assert scores['EPE-2D-in-box'] == pytest.approx(np.mean(d2_box))
    assert scores['EPE-2D-in-box'] < scores['EPE-2D']
    assert scores['RR-EPE'] == pytest.approx(1e3 * np.mean(rr))
    assert scores['PA-EPE'] == pytest.approx(1e3 * np.mean(pa))
    # at the true wrist, EPE and RR-EPE are the same number
    assert scores['EPE'] == pytest.approx(scores['RR-EPE'])
    assert 'EPE-2D' not in mean_pose_scores(mean, ev['xyz'])


def test_subset_and_bad_input(synthetic_root):
    train = load_freihand_annotations(synthetic_root, 'training')
    sub = load_mean_pose(synthetic_root, subset=5, subset_seed=3)
    from peclr_mm.datasets import select_subset
    keep = select_subset(len(train['xyz']), 5, 3)
    direct = fit_mean_pose(train['xyz'][keep], train['K'][keep])
    assert sub.num == 5
    np.testing.assert_allclose(sub.rel_xyz, direct.rel_xyz)
    with pytest.raises(ValueError, match='K must have shape'):
        fit_mean_pose(train['xyz'], train['K'][:3])
    with pytest.raises(FileNotFoundError, match='training_xyz.json'):
        load_mean_pose(synthetic_root + '_missing')


def test_metric_reports_reference_and_ratios(synthetic_root):
    ev = load_freihand_annotations(synthetic_root, 'evaluation')
    mean = load_mean_pose(synthetic_root)
    rng = np.random.default_rng(0)
    gt = ev['xyz']
    pred = gt + rng.normal(scale=0.005, size=gt.shape)
    metric = METRICS.build(
        dict(
            type='FreiHand3DMetric', mean_pose=dict(data_root=synthetic_root)))
    m = run(metric, data_samples(pred, gt, np.arange(len(gt)), K=ev['K']))
    ref = mean_pose_scores(mean, gt, ev['K'])
    for key in ('EPE-2D', 'EPE-2D-in-box', 'RR-EPE', 'PA-EPE'):
        assert m[f'freihand/mean-pose/{key}'] == pytest.approx(ref[key])
        assert m[f'freihand/ratio/{key}'] == pytest.approx(
            m[f'freihand/{key.replace("-in-box", "")}'] / ref[key])
        # a 5 mm noisy copy of the truth is far better than the mean
        assert m[f'freihand/ratio/{key}'] < 0.5
    # the mean pose scored as a model has ratio one
    pred = mean.rel_xyz[None] + gt[:, :1]
    metric = METRICS.build(
        dict(
            type='FreiHand3DMetric', mean_pose=dict(data_root=synthetic_root)))
    m = run(metric, data_samples(pred, gt, np.arange(len(gt)), K=ev['K']))
    assert m['freihand/ratio/RR-EPE'] == pytest.approx(1.)
    assert m['freihand/ratio/PA-EPE'] == pytest.approx(1.)


@contextlib.contextmanager
def logged_warnings():
    """The warnings the current mmengine logger receives meanwhile."""
    messages = []

    class Collect(logging.Handler):

        def emit(self, record):
            if record.levelno >= logging.WARNING:
                messages.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Collect()
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _at(samples, root, split='evaluation'):
    """The samples as FreiHand3DDataset names their images under root."""
    for i, sample in enumerate(samples):
        sample['img_path'] = osp.join(str(root), split, 'rgb', f'{i:08d}.jpg')
    return samples


def _noisy_evaluation(root):
    ev = load_freihand_annotations(root, 'evaluation')
    gt = ev['xyz']
    pred = gt + np.random.default_rng(0).normal(scale=0.005, size=gt.shape)
    return pred, gt, ev['K']


def test_reference_follows_the_evaluated_images(synthetic_root):
    """mean_pose=dict(): the training labels of the evaluated images' root,
    so one override of the test set's data_root moves the reference."""
    pred, gt, K = _noisy_evaluation(synthetic_root)
    metric = METRICS.build(dict(type='FreiHand3DMetric', mean_pose=dict()))
    with logged_warnings() as warned:
        m = run(
            metric,
            _at(
                data_samples(pred, gt, np.arange(len(gt)), K=K),
                synthetic_root))
    assert warned == []
    ref = mean_pose_scores(load_mean_pose(synthetic_root), gt, K)
    for key in ('EPE-2D', 'RR-EPE', 'PA-EPE'):
        assert m[f'freihand/mean-pose/{key}'] == pytest.approx(ref[key])


def test_missing_training_labels_warn_once_and_score(synthetic_root, tmp_path):
    """Images whose root lacks the training labels (FreiHAND's evaluation
    archive unpacked alone): one warning naming the file, the scores
    without the reference, every evaluation."""
    pred, gt, K = _noisy_evaluation(synthetic_root)
    other = tmp_path / 'evaluation_only'
    metric = METRICS.build(dict(type='FreiHand3DMetric', mean_pose=dict()))
    with logged_warnings() as warned:
        for _ in range(2):
            m = run(
                metric,
                _at(data_samples(pred, gt, np.arange(len(gt)), K=K), other))
            assert m['freihand/PA-EPE'] < 10
            assert not any('mean-pose' in k or 'ratio' in k for k in m)
    assert len(warned) == 1, warned
    assert osp.join(str(other), 'training_xyz.json') in warned[0]


def test_explicit_missing_root_warns_instead_of_failing(
        synthetic_root, tmp_path):
    pred, gt, K = _noisy_evaluation(synthetic_root)
    missing = str(tmp_path / 'nowhere')
    with logged_warnings() as warned:
        metric = METRICS.build(
            dict(type='FreiHand3DMetric', mean_pose=dict(data_root=missing)))
        m = run(metric, data_samples(pred, gt, np.arange(len(gt)), K=K))
    assert 'freihand/PA-EPE' in m and 'freihand/mean-pose/PA-EPE' not in m
    assert len(warned) == 1
    assert osp.join(missing, 'training_xyz.json') in warned[0]


def test_images_of_another_layout_warn(synthetic_root, tmp_path):
    pred, gt, K = _noisy_evaluation(synthetic_root)
    samples = data_samples(pred, gt, np.arange(len(gt)), K=K)
    for i, sample in enumerate(samples):
        sample['img_path'] = str(tmp_path / 'images' / f'{i:05d}.jpg')
    metric = METRICS.build(dict(type='FreiHand3DMetric', mean_pose=dict()))
    with logged_warnings() as warned:
        m = run(metric, samples)
    assert 'freihand/mean-pose/PA-EPE' not in m
    assert len(warned) == 1 and 'not in a FreiHAND layout' in warned[0]
    with pytest.raises(ValueError, match='unknown mean_pose keys'):
        METRICS.build(
            dict(type='FreiHand3DMetric', mean_pose=dict(root=tmp_path)))
