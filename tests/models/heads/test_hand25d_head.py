# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from peclr_mm.codecs import Hand25DCodec, encode_25d
from peclr_mm.models.heads import Hand25DHead
from peclr_mm.utils.affine import (compose, crop_intrinsics, crop_matrix,
                                   similarity_about, transform_points)

SIZE = (64, 64)


def make_samples(n, seed=0, size=SIZE, root='palm'):
    """Hands 0.3-0.9 m in front of a camera, each cropped with a rotated,
    scaled and shifted warp; ground truth as the pipeline packs it."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        xyz = rng.normal(scale=0.03, size=(21, 3))
        xyz += [
            rng.uniform(-.1, .1),
            rng.uniform(-.1, .1),
            rng.uniform(.3, .9)
        ]
        direction = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), 0.3])
        xyz[10] = xyz[9] + 0.03 * direction / np.linalg.norm(direction)
        xyz = xyz.astype(np.float32).astype(np.float64)
        K = np.array([[500., 0, 112], [0, 500., 112], [0, 0, 1]])
        uv = xyz @ K.T
        uv = uv[:, :2] / uv[:, 2:]
        warp = compose(
            similarity_about((size[0] / 2, size[1] / 2), rng.uniform(-90, 90),
                             rng.uniform(0.8, 1.2), rng.uniform(-5, 5, 2)),
            crop_matrix(uv.mean(0), 1.5 * np.ptp(uv, 0).max(), size[0]))
        sample = PoseDataSample(
            metainfo=dict(
                K=K,
                warp_mat=warp.astype(np.float32),
                K_crop=crop_intrinsics(K, warp),
                bone_length=float(np.linalg.norm(xyz[9] - xyz[10])),
                input_size=size))
        sample.gt_instances = InstanceData(
            keypoints_3d=xyz[None].astype(np.float32),
            keypoints=uv[None].astype(np.float32))
        # the targets as GenerateTarget + PackPoseInputs write them
        codec = Hand25DCodec(input_size=size, root=root)
        K_crop = sample.metainfo['K_crop']
        labels = codec.encode(
            transform_points(uv, warp)[None],
            keypoints_3d=xyz[None],
            K_crop=K_crop,
            bone_length=sample.metainfo['bone_length'])
        sample.gt_instance_labels = InstanceData(**labels).to_tensor()
        samples.append(sample)
    return samples


def targets(head, samples):
    """Encoded ground truth (crop-pixel uv, z_rel, z_root) and geometry."""
    gt = torch.tensor(
        np.concatenate([s.gt_instances.keypoints_3d for s in samples]),
        dtype=torch.float64)
    K_crop = torch.tensor(np.stack([s.metainfo['K_crop'] for s in samples]))
    bone = torch.tensor([s.metainfo['bone_length'] for s in samples],
                        dtype=torch.float64)
    enc = encode_25d(gt.numpy(), K_crop.numpy(), bone.numpy(), head.codec.root)
    return gt, K_crop, bone, {k: torch.from_numpy(v) for k, v in enc.items()}


def build_head(**kwargs):
    cfg = dict(
        type='Hand25DHead',
        in_channels=32,
        hidden_dims=(64, ),
        codec=dict(type='Hand25DCodec', input_size=SIZE))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_loss_keys_and_decrease():
    torch.manual_seed(0)
    head = build_head()
    assert isinstance(head, Hand25DHead)
    samples = make_samples(8)
    feats = (torch.randn(8, 16, 8, 8), torch.randn(8, 32, 4, 4))
    optim = torch.optim.Adam(head.parameters(), lr=3e-2)
    history = []
    for _ in range(30):
        losses = head.loss(feats, samples)
        assert set(losses) == {
            'loss_uv', 'loss_zrel', 'loss_zroot', 'mpjpe_mm'
        }
        assert not losses['mpjpe_mm'].requires_grad
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        optim.zero_grad()
        total.backward()
        optim.step()
        history.append({k: v.item() for k, v in losses.items()})
    first, last = history[0], history[-1]
    # the root-depth refiner (zero-initialised output) was trained too
    assert head.root_refiner[-1].weight.abs().sum() > 0
    for key in first:
        assert last[key] < 0.5 * first[key], (key, first[key], last[key])


def test_loss_weights_and_values():
    torch.manual_seed(0)
    samples = make_samples(4)
    feats = [torch.randn(4, 32, 2, 2)]
    heads = [build_head(loss_weights=w) for w in ((1, 1, 1), (2, 5, 3))]
    heads[1].load_state_dict(heads[0].state_dict())
    base, weighted = (h.loss(feats, samples) for h in heads)
    for key, w in (('loss_uv', 2), ('loss_zrel', 5), ('loss_zroot', 3)):
        torch.testing.assert_close(weighted[key], w * base[key])
    # loss_uv is L1 in crop pixels, as the head predicts and the codec labels
    head = heads[0]
    uv, _ = head.forward(feats)
    _, _, _, enc = targets(head, samples)
    expected = (uv.double() - enc['uv']).abs().mean()
    torch.testing.assert_close(
        base['loss_uv'].double(), expected, rtol=1e-5, atol=1e-5)


def test_default_loss_weights_are_per_crop():
    """Without loss_weights the uv term weighs 1 / input size per pixel:
    the same objective as before the loss moved to crop pixels (a crop's
    width of error weighs one bone length of root depth)."""
    torch.manual_seed(0)
    samples = make_samples(4)
    feats = [torch.randn(4, 32, 2, 2)]
    default = build_head()
    assert default.loss_weights == (1 / 64, 5., 1.)
    explicit = build_head(loss_weights=(1., 5., 1.))
    explicit.load_state_dict(default.state_dict())
    ours, per_pixel = default.loss(feats,
                                   samples), explicit.loss(feats, samples)
    torch.testing.assert_close(ours['loss_uv'], per_pixel['loss_uv'] / 64)
    torch.testing.assert_close(ours['loss_zrel'], per_pixel['loss_zrel'])


@pytest.mark.parametrize('root', ['palm', 0, 9])
def test_decode_path_recovers_ground_truth(root):
    head = build_head(
        codec=dict(type='Hand25DCodec', input_size=SIZE,
                   root=root)).double().eval()
    samples = make_samples(6, seed=1, root=root)
    gt, K_crop, bone, enc = targets(head, samples)
    # the pipeline's labels are the same targets
    labels = head._targets(samples, enc['uv'])
    torch.testing.assert_close(
        labels['keypoint_labels'], enc['uv'], rtol=0, atol=1e-4)
    torch.testing.assert_close(
        labels['z_rel_labels'], enc['z_rel'], rtol=0, atol=1e-5)
    torch.testing.assert_close(
        labels['z_root_labels'], enc['z_root'], rtol=1e-6, atol=0)
    xhat = head.codec.rays(enc['uv'], K_crop)
    # the given root depth
    xyz = head.codec.camera_joints(xhat, enc['z_rel'], enc['z_root'], bone)
    torch.testing.assert_close(xyz, gt, rtol=0, atol=1e-9)
    # the refined closed form: the refiner starts at zero, so it is exact
    z_cf, z_root = head.root_depth(xhat, enc['z_rel'])
    torch.testing.assert_close(z_cf, enc['z_root'], rtol=0, atol=1e-9)
    torch.testing.assert_close(z_root, enc['z_root'], rtol=0, atol=1e-9)
    xyz = head.codec.camera_joints(xhat, enc['z_rel'], z_root, bone)
    torch.testing.assert_close(xyz, gt, rtol=0, atol=1e-9)


def test_predict_shapes_and_consistency():
    torch.manual_seed(0)
    head = build_head().eval()
    samples = make_samples(3)
    feats = [torch.randn(3, 32, 4, 4)]
    preds = head.predict(feats, samples)
    assert len(preds) == 3
    uv, z_rel = head.forward(feats)
    _, K_crop, bone, _ = targets(head, samples)
    xhat = head.codec.rays(uv, K_crop.float())
    z_root = head.root_depth(xhat, z_rel)[1]
    xyz = head.codec.camera_joints(xhat, z_rel, z_root, bone.float())
    for i, pred in enumerate(preds):
        assert pred.keypoints_3d.shape == (1, 21, 3)
        assert pred.keypoints.shape == (1, 21, 2)
        np.testing.assert_array_equal(pred.keypoint_scores, np.ones((1, 21)))
        np.testing.assert_allclose(pred.keypoints[0], uv[i].detach().numpy())
        np.testing.assert_allclose(
            pred.keypoints_3d[0], xyz[i].detach().numpy(), rtol=1e-5)
        assert np.isfinite(pred.keypoints_3d).all()
    with pytest.raises(NotImplementedError):
        head.predict(feats, samples, dict(flip_test=True))


@pytest.mark.parametrize('root', ['palm', 9])
def test_forward_root_relative_depth(root):
    head = build_head(
        codec=dict(type='Hand25DCodec', input_size=SIZE, root=root))
    _, z_rel = head.forward([torch.randn(5, 32, 3, 3)])
    if root == 'palm':
        torch.testing.assert_close(z_rel[:, 0], -z_rel[:, 9])
    else:
        assert (z_rel[:, 9] == 0).all()
    assert z_rel.abs().sum() > 0


def test_loss_needs_pipeline_targets():
    head = build_head()
    samples = make_samples(2)
    del samples[1].gt_instance_labels
    with pytest.raises(KeyError, match='GenerateTarget'):
        head.loss([torch.randn(2, 32, 2, 2)], samples)


def test_input_size_mismatch_and_bad_args():
    head = build_head()
    with pytest.raises(ValueError, match='input_size'):
        head.loss([torch.randn(2, 32, 2, 2)], make_samples(2, size=(96, 96)))
    with pytest.raises(ValueError, match='loss_weights'):
        build_head(loss_weights=(1, 5))
