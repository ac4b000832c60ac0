# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import METRICS
from mmpose.structures import PoseDataSample

from peclr_mm.evaluation import (epe_2d, freihand_scores,
                                 load_freihand_submission, root_relative_epe)


def make_data(num=12, seed=0):
    rng = np.random.default_rng(seed)
    gt = (rng.normal(scale=0.04, size=(num, 21, 3)) + np.array([0, 0, 0.6]))
    pred = gt + rng.normal(scale=0.01, size=gt.shape)
    # the dataloader need not visit annotations in order
    sample_ids = rng.permutation(num)
    return pred, gt, sample_ids


def data_samples(pred, gt, sample_ids, with_gt=True, K=None):
    """What mmengine hands to a metric: ``PoseDataSample.to_dict()``."""
    out = []
    for i, (p, g, k) in enumerate(zip(pred, gt, sample_ids)):
        meta = dict(sample_id=int(k), img_id=int(k) + 100, id=i)
        if K is not None:
            meta['K'] = K[i]
        sample = PoseDataSample(metainfo=meta)
        sample.pred_instances = InstanceData(
            keypoints_3d=torch.from_numpy(p[None]).float())
        if with_gt:
            sample.gt_instances = InstanceData(keypoints_3d=g[None])
        out.append(sample.to_dict())
    return out


def run(metric, samples, batch_size=5):
    for start in range(0, len(samples), batch_size):
        metric.process([], samples[start:start + batch_size])
    return metric.evaluate(len(samples))


def test_per_joint_scores_only_when_asked():
    pred, gt, ids = make_data()
    metrics = run(
        METRICS.build(dict(type='FreiHand3DMetric')),
        data_samples(pred, gt, ids))
    assert sorted(metrics) == sorted(f'freihand/{n}'
                                     for n in ('EPE', 'PA-EPE', 'AUC',
                                               'PA-AUC', 'RR-EPE'))


def test_scores_equal_freihand_scores():
    pred, gt, ids = make_data()
    metric = METRICS.build(dict(type='FreiHand3DMetric', per_joint=True))
    metrics = run(metric, data_samples(pred, gt, ids))

    expected = freihand_scores(pred.astype(np.float32), gt)
    names = ['EPE', 'PA-EPE', 'AUC', 'PA-AUC', 'RR-EPE']
    names += [f'EPE_j{j:02d}' for j in range(21)]
    names += [f'PA-EPE_j{j:02d}' for j in range(21)]
    assert sorted(metrics) == sorted(f'freihand/{n}' for n in names)
    assert metrics['freihand/EPE'] == pytest.approx(expected['epe_mm'])
    assert metrics['freihand/PA-EPE'] == pytest.approx(expected['pa_epe_mm'])
    assert metrics['freihand/AUC'] == pytest.approx(expected['auc'])
    assert metrics['freihand/PA-AUC'] == pytest.approx(expected['pa_auc'])
    for j in range(21):
        assert metrics[f'freihand/EPE_j{j:02d}'] == pytest.approx(
            expected['per_joint_epe_mm'][j])
        assert metrics[f'freihand/PA-EPE_j{j:02d}'] == pytest.approx(
            expected['per_joint_pa_epe_mm'][j])
    assert metrics['freihand/RR-EPE'] == pytest.approx(
        root_relative_epe(pred.astype(np.float32), gt))
    assert all(isinstance(v, float) for v in metrics.values())
    assert 5 < metrics['freihand/EPE'] < 30  # mm, not metres
    assert metric.results == []


def test_submission_ordered_by_sample_id(tmp_path):
    pred, gt, ids = make_data()
    prefix = str(tmp_path / 'res' / 'freihand')
    metric = METRICS.build(
        dict(type='FreiHand3DMetric', outfile_prefix=prefix))
    metrics = run(metric, data_samples(pred, gt, ids))
    assert 'freihand/EPE' in metrics

    xyz, verts = load_freihand_submission(prefix + '.pred.zip')
    expected = np.empty_like(pred)
    expected[ids] = pred
    np.testing.assert_allclose(xyz, expected, atol=1e-7)
    assert verts.shape == (len(pred), 778, 3)
    xyz_json, _ = load_freihand_submission(prefix + '.pred.json')
    np.testing.assert_array_equal(xyz_json, xyz)


def test_without_ground_truth_only_writes_submission(tmp_path):
    pred, gt, ids = make_data(seed=1)
    prefix = str(tmp_path / 'test')
    metric = METRICS.build(
        dict(
            type='FreiHand3DMetric', outfile_prefix=prefix,
            gt_available=False))
    assert run(metric, data_samples(pred, gt, ids, with_gt=False)) == {}
    xyz, _ = load_freihand_submission(prefix + '.pred.zip')
    np.testing.assert_allclose(xyz[ids], pred, atol=1e-7)


def test_without_ground_truth_needs_outfile_prefix():
    with pytest.raises(ValueError, match='outfile_prefix'):
        METRICS.build(dict(type='FreiHand3DMetric', gt_available=False))


def test_repeated_sample_ids_refused_for_submission(tmp_path):
    pred, gt, _ = make_data(num=4)
    metric = METRICS.build(
        dict(type='FreiHand3DMetric', outfile_prefix=str(tmp_path / 'x')))
    metric.process([], data_samples(pred, gt, [0, 1, 1, 2]))
    with pytest.raises(ValueError, match=r'sample_id \[1\]'):
        metric.evaluate(4)


def test_missing_keypoints_3d_named():
    pred, gt, ids = make_data(num=2)
    samples = data_samples(pred, gt, ids)
    del samples[0]['gt_instances']['keypoints_3d']
    metric = METRICS.build(dict(type='FreiHand3DMetric'))
    with pytest.raises(KeyError, match=r"gt_instances'\]\['keypoints_3d"):
        metric.process([], samples)


def test_wrong_shape_named():
    pred, gt, ids = make_data(num=1)
    samples = data_samples(pred, gt, ids)
    samples[0]['pred_instances']['keypoints_3d'] = np.zeros((2, 21, 3))
    metric = METRICS.build(dict(type='FreiHand3DMetric'))
    with pytest.raises(
            ValueError, match=r'pred_instances.keypoints_3d.*'
            r'\(1, 21, 3\)'):
        metric.process([], samples)


def test_2d_error_reported_when_samples_carry_K():
    pred, gt, ids = make_data()
    K = np.tile(
        np.array([[500., 0, 112], [0, 480., 112], [0, 0, 1]]), (len(gt), 1, 1))
    K[:, 0, 0] += np.arange(len(gt))
    metric = METRICS.build(dict(type='FreiHand3DMetric'))
    metrics = run(metric, data_samples(pred, gt, ids, K=K))
    assert metrics['freihand/EPE-2D'] == pytest.approx(
        epe_2d(pred.astype(np.float32), gt, K))
    assert metrics['freihand/EPE-2D'] > 0


def test_2d_error_of_predicted_keypoints():
    """A 2.5-D model's own 2-D keypoints are scored, not the projection of
    its 3-D joints (a joint decoded behind the camera would land anywhere)."""
    pred, gt, ids = make_data()
    K = np.tile(
        np.array([[500., 0, 112], [0, 480., 112], [0, 0, 1]]), (len(gt), 1, 1))
    uv_gt = np.einsum('nij,nkj->nki', K, gt)
    uv_gt = uv_gt[..., :2] / uv_gt[..., 2:]
    uv_pred = uv_gt + np.array([3., 4.])  # 5 px off everywhere
    samples = data_samples(pred, gt, ids, K=K)
    for s, uv in zip(samples, uv_pred):
        s['pred_instances']['keypoints'] = uv[None]
    samples[0]['pred_instances']['keypoints_3d'][0, :, 2] *= -1
    metric = METRICS.build(dict(type='FreiHand3DMetric'))
    metrics = run(metric, samples)
    assert metrics['freihand/EPE-2D'] == pytest.approx(5.)
    samples[1]['pred_instances']['keypoints'] = np.zeros((1, 21, 3))
    with pytest.raises(
            ValueError, match=r'pred_instances.keypoints.*'
            r'\(1, 21, 2\)'):
        metric.process([], samples)
