# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpose.registry import MODELS

from peclr_mm.models.heads import (BaseHand25DHead, Hand25DHeatmapHead,
                                   soft_argmax_2d)
from peclr_mm.models.heads.hand25d_heatmap_head import gaussian_cell_targets
from tests.models.heads.test_hand25d_head import SIZE, make_samples, targets


def build_head(**kwargs):
    cfg = dict(
        type='Hand25DHeatmapHead',
        in_channels=32,
        deconv_out_channels=(32, ),
        deconv_kernel_sizes=(4, ),
        codec=dict(type='Hand25DCodec', input_size=SIZE))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


@pytest.mark.parametrize('hw', [(8, 8), (16, 12)])
def test_soft_argmax_of_planted_peak(hw):
    """A sharp peak in cell (i, j) reads out as that cell's centre in input
    pixels; a peak split between two cells reads out between them."""
    h, w = hw
    W, H = 64, 48
    maps = torch.full((2, 3, h, w), -1e4, dtype=torch.float64)
    cells = [(1, 2), (h - 1, 0), (h // 2, w - 1)]
    for k, (i, j) in enumerate(cells):
        maps[0, k, i, j] = 0.
    # sample 1: equal mass on two horizontal neighbours
    maps[1, :, 3, 4] = maps[1, :, 3, 5] = 0.
    depth = torch.arange(h * w, dtype=torch.float64).reshape(1, 1, h, w)
    xy, prob = soft_argmax_2d(maps, (W, H))
    torch.testing.assert_close(
        prob.sum((2, 3)), torch.ones(2, 3, dtype=torch.float64))
    z = (prob * depth).sum((2, 3))
    for k, (i, j) in enumerate(cells):
        expected = [(j + 0.5) * W / w - 0.5, (i + 0.5) * H / h - 0.5]
        torch.testing.assert_close(xy[0, k],
                                   torch.tensor(expected, dtype=torch.float64))
        assert z[0, k] == pytest.approx(i * w + j)
    torch.testing.assert_close(
        xy[1, 0],
        torch.tensor([5 * W / w - 0.5, 3.5 * H / h - 0.5],
                     dtype=torch.float64))
    assert z[1, 0] == pytest.approx(3 * w + 4.5)
    # a flat map reads out the centre of the input
    flat, _ = soft_argmax_2d(torch.zeros(1, 1, h, w), (W, H))
    torch.testing.assert_close(flat[0, 0],
                               torch.tensor([W / 2 - .5, H / 2 - .5]))


def test_shapes_root_and_registration():
    head = build_head(codec=dict(type='Hand25DCodec', input_size=SIZE, root=9))
    assert isinstance(head, Hand25DHeatmapHead)
    assert isinstance(head, BaseHand25DHead)
    heatmaps, depths = head.maps([torch.randn(2, 32, 4, 4)])
    assert heatmaps.shape == depths.shape == (2, 21, 8, 8)
    uv, z_rel = head.forward([torch.randn(2, 32, 4, 4)])
    assert uv.shape == (2, 21, 2) and z_rel.shape == (2, 21)
    assert (z_rel[:, 9] == 0).all()
    assert ((uv >= -.5) & (uv <= SIZE[0] - .5)).all()
    # an earlier stage through in_index, read without upsampling
    head = build_head(
        in_channels=16,
        in_index=0,
        deconv_out_channels=(),
        deconv_kernel_sizes=())
    heatmaps, _ = head.maps(
        [torch.randn(2, 16, 8, 8),
         torch.randn(2, 32, 2, 2)])
    assert heatmaps.shape == (2, 21, 8, 8)
    with pytest.raises(ValueError, match='deconv'):
        build_head(deconv_out_channels=(32, 32), deconv_kernel_sizes=(4, ))


def test_gaussian_targets_read_out_at_the_label():
    """The soft-argmax of the log of a Gaussian target returns the labelled
    position (the targets and the read-out share one cell convention) for
    points 3 sigma inside the map; joints more than a cell off the map are
    masked."""
    W, H = 64, 48
    uv = torch.tensor([[[20.3, 20.7], [40., 17.2], [33.3, 30.], [-20., 10.],
                        [30., 70.]]],
                      dtype=torch.float64)
    for hw in [(12, 16), (24, 32)]:
        g, inside = gaussian_cell_targets(uv, (W, H), hw, sigma=1.)
        assert g.shape == (1, 5, *hw)
        torch.testing.assert_close(g[:, :3].sum((2, 3)),
                                   torch.ones(1, 3, dtype=torch.float64))
        assert inside.tolist() == [[1., 1., 1., 0., 0.]]
        xy, _ = soft_argmax_2d(g.log(), (W, H))
        torch.testing.assert_close(xy[0, :3], uv[0, :3], atol=1e-4, rtol=0)
        # the peak is in the cell that contains the point
        peak = g[0, 0].flatten().argmax().item()
        assert divmod(peak,
                      hw[1]) == (int(21.2 * hw[0] / H), int(20.8 * hw[1] / W))


def test_heatmap_loss_is_optional_and_falls_at_the_label():
    """With ``heatmap_loss_weight`` the loss adds ``loss_heatmap``, which is
    lower for heatmaps peaked at the labels than for flat ones; without it
    the losses are the latent model's."""
    samples = make_samples(3, seed=4)
    head = build_head()
    feats = [torch.randn(3, 32, 4, 4)]
    assert 'loss_heatmap' not in head.loss(feats, samples)
    head = build_head(heatmap_loss_weight=2.)
    losses = head.loss(feats, samples)
    assert losses['loss_heatmap'] > 0
    # heatmaps peaked at the labels: the final layer replaced by the
    # targets' logs
    _, _, _, enc = targets(head, samples)
    g, _ = gaussian_cell_targets(enc['uv'].float(), SIZE, (8, 8))
    flat = torch.zeros(3, 21, 8, 8)
    target = dict(
        keypoint_labels=enc['uv'].float(), keypoint_weights=torch.ones(3, 21))
    peaked = head._aux_losses(g.clamp_min(1e-30).log(), target)
    uniform = head._aux_losses(flat, target)
    assert peaked['loss_heatmap'] < uniform['loss_heatmap'] - 1
    # ln(64) for a flat map against any target, times the weight
    assert uniform['loss_heatmap'].item() == pytest.approx(
        2 * np.log(64), rel=1e-5)
    with pytest.raises(ValueError, match='heatmap_loss_weight'):
        build_head(heatmap_loss_weight=-1.)


def test_overfits_a_handful_of_samples():
    """The head (with a small trainable stem) fits six samples: uv from 14 px
    off to within 2.5 px at 64 px (the z_rel loss shares the features and
    slows this toy down; uv alone reaches 0.5 px), z_rel and the 3-D joints
    through the refined root depth close."""
    torch.manual_seed(0)
    samples = make_samples(6, seed=2)
    head = build_head()
    stem = torch.nn.Conv2d(3, 32, 3, padding=1)
    images = torch.randn(6, 3, 4, 4)
    params = list(head.parameters()) + list(stem.parameters())
    optim = torch.optim.Adam(params, lr=1e-2)
    first = None
    for _ in range(600):
        losses = head.loss([stem(images)], samples)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        first = first or {k: v.item() for k, v in losses.items()}
        optim.zero_grad()
        total.backward()
        optim.step()
    head.eval()
    with torch.no_grad():
        uv, z_rel = head.forward([stem(images)])
    _, _, _, enc = targets(head, samples)
    uv_err = (uv.double() - enc['uv']).norm(dim=-1).mean()
    assert uv_err < 2.5, uv_err
    assert (z_rel.double() - enc['z_rel']).abs().mean() < 0.1
    assert losses['loss_uv'] < 0.2 * first['loss_uv']
    # the hand these uv and z_rel decode to, at the true root depth (the
    # root refinement is the base class's, tested with Hand25DHead)
    gt, K_crop, bone, enc = targets(head, samples)
    xyz = head.codec.camera_joints(
        head.codec.rays(uv.double(), K_crop), z_rel.double(), enc['z_root'],
        bone)
    rel = (xyz - xyz[:, :1]) - (gt - gt[:, :1])
    assert rel.norm(dim=-1).mean() * 1e3 < 10
    preds = head.predict([stem(images)], samples)
    assert all(np.isfinite(p.keypoints_3d).all() for p in preds)
