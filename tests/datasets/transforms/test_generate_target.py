# Copyright (c) peclr_mm authors. All rights reserved.
"""The 2.5-D targets written by mmpose's GenerateTarget with Hand25DCodec."""
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from peclr_mm.codecs import Hand25DCodec
from peclr_mm.datasets import FreiHand3DDataset
from tests.datasets.transforms.test_affine import _blob_image, _centroid

SIZE = 64


def _pipeline(codec, **sim):
    return [
        dict(type='LoadImage'),
        dict(type='HandCanonicalCrop', input_size=SIZE, source='image'),
        dict(type='RandomSimilarity', **sim),
        dict(type='WarpView'),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackHand3DInputs'),
    ]


@pytest.mark.parametrize('seed', range(3))
def test_encoded_targets_round_trip(synthetic_root, seed):
    """Labels packed into gt_instance_labels decode back to the sample's
    camera-frame joints, and their uv are the view's keypoints."""
    codec_cfg = dict(type='Hand25DCodec', input_size=(SIZE, SIZE))
    ds = FreiHand3DDataset(
        data_root=synthetic_root,
        pipeline=_pipeline(codec_cfg, rotate=45., margin_range=(0.8, 1.3)))
    codec = Hand25DCodec(input_size=(SIZE, SIZE))
    np.random.seed(seed)
    for i in (0, 5, 30):
        packed = ds[i]
        sample = packed['data_samples']
        labels = sample.gt_instance_labels
        assert labels.keypoint_labels.shape == (1, 21, 2)
        assert labels.z_rel_labels.shape == (1, 21)
        assert labels.z_root_labels.shape == (1, )
        assert isinstance(labels.keypoint_labels, torch.Tensor)
        meta = sample.metainfo
        encoded = np.concatenate([
            labels.keypoint_labels.numpy(),
            labels.z_rel_labels.numpy()[..., None]
        ], -1)
        xyz, _ = codec.decode(encoded, meta['K_crop'], meta['bone_length'],
                              labels.z_root_labels.numpy())
        np.testing.assert_allclose(
            xyz, sample.gt_instances.keypoints_3d, atol=2e-5)
        # uv (crop pixels) are the source keypoints moved by warp_mat
        info = ds.get_data_info(i)
        kpts = info['keypoints'][0].astype(np.float64)
        warp = meta['warp_mat'].astype(np.float64)
        expected = kpts @ warp[:, :2].T + warp[:, 2]
        np.testing.assert_allclose(
            labels.keypoint_labels[0].numpy(), expected, atol=2e-3)


def test_targets_land_on_drawn_dots(synthetic_root):
    """A dot drawn at a joint of the source image is found in the view that
    the pipeline makes at the joint's encoded target, within half a pixel."""
    codec_cfg = dict(type='Hand25DCodec', input_size=(SIZE, SIZE))
    ds = FreiHand3DDataset(data_root=synthetic_root, pipeline=[])
    info = ds.get_data_info(3)
    kpts = info['keypoints'][0].astype(np.float64)
    pipeline = Compose(_pipeline(codec_cfg, rotate=40., shift=0.1)[1:-1])
    rng = np.random.default_rng(0)
    for joint in rng.choice(21, 4, replace=False):
        img = _blob_image([kpts[joint]], size=(224, 224), sigma=4.0)
        img = np.repeat((img * 250).astype(np.float32)[..., None], 3, -1)
        np.random.seed(int(joint))
        results = pipeline(
            dict(info, img=img, img_shape=(224, 224), ori_shape=(224, 224)))
        view = results['img'][..., 0].astype(np.float64)
        target = results['keypoint_labels'][0, joint]
        # the dot is 4 px wide at 224 px, about 1 px in the 64 px view
        assert np.linalg.norm(_centroid(view) - target) < 0.5
