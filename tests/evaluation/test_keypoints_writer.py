# Copyright (c) peclr_mm authors. All rights reserved.
"""The pseudo-label writer: one 2-D hand per annotation, in annotation
order, its own error when the truth is there, never over a file."""
import json

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import METRICS
from mmpose.structures import PoseDataSample

from peclr_mm.utils.camera import project


def _samples(n=7, seed=0, with_gt=True):
    rng = np.random.default_rng(seed)
    xyz = rng.normal(scale=.04, size=(n, 21, 3)) + np.array([0, 0, .6])
    K = np.array([[500., 0, 112], [0, 500., 112], [0, 0, 1]])
    uv = project(xyz, np.broadcast_to(K, (n, 3, 3)))
    noisy = uv + rng.normal(scale=2., size=uv.shape)
    order = rng.permutation(n)  # the loader need not visit them in order
    out = []
    for i in order:
        s = PoseDataSample(metainfo=dict(sample_id=int(i), K=K))
        s.pred_instances = InstanceData(
            keypoints=torch.from_numpy(noisy[i][None]).float())
        if with_gt:
            s.gt_instances = InstanceData(keypoints_3d=xyz[i][None])
        out.append(s.to_dict())
    return out, noisy, uv


def test_writes_in_annotation_order_with_the_labels_error(tmp_path):
    samples, noisy, uv = _samples()
    out = tmp_path / 'labels.json'
    metric = METRICS.build(
        dict(type='Keypoints2DWriter', out_file=str(out), num_samples=7))
    metric.process([], samples[:3])
    metric.process([], samples[3:])
    res = metric.evaluate(7)
    written = np.asarray(json.load(open(out)))
    np.testing.assert_allclose(written, noisy, atol=1e-3)
    assert res['keypoints2d/num_written'] == 7
    assert res['keypoints2d/EPE-2D'] == pytest.approx(
        np.linalg.norm(noisy - uv, axis=-1).mean(), abs=1e-3)
    # never over an existing file
    again = METRICS.build(dict(type='Keypoints2DWriter', out_file=str(out)))
    again.process([], samples)
    with pytest.raises(FileExistsError, match='labels.json'):
        again.evaluate(7)


def test_refuses_gaps_and_repeats(tmp_path):
    samples, _, _ = _samples(with_gt=False)
    out = str(tmp_path / 'labels.json')
    short = METRICS.build(
        dict(type='Keypoints2DWriter', out_file=out, num_samples=8))
    short.process([], samples)
    with pytest.raises(ValueError, match=r'missing \[7\]'):
        short.evaluate(7)
    twice = METRICS.build(dict(type='Keypoints2DWriter', out_file=out))
    twice.process([], samples + samples[:1])
    with pytest.raises(ValueError, match='repeated'):
        twice.evaluate(8)
    plain = METRICS.build(dict(type='Keypoints2DWriter', out_file=out))
    plain.process([], samples)
    assert 'keypoints2d/EPE-2D' not in plain.evaluate(7)  # no ground truth
    with pytest.raises(ValueError, match='.json'):
        METRICS.build(dict(type='Keypoints2DWriter', out_file='x.npz'))
