# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
import torch

from peclr_mm.models.losses import undo_view_geometry
from projects.reproduction.probes import (knn_pose_distance,
                                          latent_equivariance, move_latent,
                                          ridge_probe)


def test_ridge_probe_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4))
    f_train = rng.normal(size=(300, 6)) * [1, 2, 3, .5, 4, 10] + 5
    f_eval = rng.normal(size=(50, 6)) * [1, 2, 3, .5, 4, 10] + 5
    y_train = f_train @ W + [1., -2., 0.3, 7.]
    pred = ridge_probe(f_train, y_train, f_eval, lam=1e-9)
    np.testing.assert_allclose(
        pred, f_eval @ W + [1., -2., 0.3, 7.], atol=1e-6)
    # heavy shrinkage leaves the unpenalised intercept: the training mean
    pred = ridge_probe(f_train, y_train, f_eval, lam=1e12)
    np.testing.assert_allclose(
        pred, np.broadcast_to(y_train.mean(0), pred.shape), atol=1e-6)
    with pytest.raises(ValueError, match='y_train'):
        ridge_probe(f_train, y_train[:10], f_eval, 1.)


def test_move_latent_is_the_inverse_of_the_loss_undo_step():
    g = torch.Generator().manual_seed(0)
    proj = torch.randn(7, 128, generator=g, dtype=torch.float64)
    theta = torch.tensor([0., 10., -35., 90., 180., 3., -120.],
                         dtype=torch.float64)
    shift = torch.rand(7, 2, generator=g, dtype=torch.float64) - .5
    scale = torch.rand(7, generator=g, dtype=torch.float64) + .5
    for s in (None, scale):
        back = move_latent(
            undo_view_geometry(proj, theta, shift, s), theta, shift, s)
        torch.testing.assert_close(back, torch.nn.functional.normalize(proj))
        back = undo_view_geometry(
            move_latent(proj, theta, shift, s), theta, shift, s)
        torch.testing.assert_close(back, torch.nn.functional.normalize(proj))


def test_latent_equivariance_tells_equivariant_from_invariant():
    g = torch.Generator().manual_seed(1)
    proj0 = torch.randn(5, 64, generator=g, dtype=torch.float64)
    theta = torch.full((5, ), 30., dtype=torch.float64)
    shift = torch.full((5, 2), .1, dtype=torch.float64)
    # a perfectly equivariant encoder: its latent goes where PeCLR says
    eq = latent_equivariance(proj0,
                             move_latent(proj0, theta, shift) * 3, theta,
                             shift)
    torch.testing.assert_close(eq['error'],
                               torch.zeros(5, dtype=eq['error'].dtype))
    torch.testing.assert_close(eq['moved'], eq['should'])
    assert (eq['should'] > 0.1).all()
    # a perfectly invariant one: it does not move, and misses by `should`
    inv = latent_equivariance(proj0, proj0, theta, shift)
    torch.testing.assert_close(inv['moved'],
                               torch.zeros(5, dtype=torch.float64))
    assert (inv['error'] > 0.1).all()


def test_knn_pose_distance_finds_the_same_pose():
    rng = np.random.default_rng(2)
    xyz = rng.normal(size=(20, 21, 3)) * 0.03
    feats = rng.normal(size=(20, 16))
    # a query whose features are a gallery sample's retrieves it first
    out = knn_pose_distance(feats[:4] * 2, feats, xyz[:4], xyz, k=3)
    np.testing.assert_array_equal(out['index'][:, 0], np.arange(4))
    np.testing.assert_allclose(out['distance'][:, 0], 0, atol=1e-4)
    assert (out['distance'][:, 1:] > 1).all()  # other poses: mm apart
    # a rotated, scaled and moved copy of a pose is the same pose aligned
    c, s = np.cos(.7), np.sin(.7)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    moved = 1.3 * xyz[:1] @ R.T + .2
    out = knn_pose_distance(feats[:1], feats, moved, xyz, k=1)
    np.testing.assert_allclose(out['distance'], 0, atol=1e-4)
    out = knn_pose_distance(feats[:1], feats, moved, xyz, k=1, aligned=False)
    assert out['distance'][0, 0] > 1
    with pytest.raises(ValueError, match='gallery'):
        knn_pose_distance(feats[:1], feats, xyz[:1], xyz, k=21)


def test_partner_rank_tells_content_from_appearance():
    from projects.reproduction.probes import partner_rank
    rng = np.random.default_rng(0)
    content = rng.normal(size=(40, 8))
    # features that carry the content: partners are each other's nearest
    ranks = partner_rank(content, content + 0.01 * rng.normal(size=(40, 8)))
    np.testing.assert_array_equal(ranks, 0)
    # features of the appearance alone (independent per version): chance
    ranks = partner_rank(rng.normal(size=(400, 8)), rng.normal(size=(400, 8)))
    assert 150 < np.median(ranks) < 250
    # a hand-made case: b's rows reversed, so partner i sits farthest away
    a = np.array([[1., 0.], [0.5, 0.5], [0., 1.]])
    ranks = partner_rank(a, a[::-1])
    np.testing.assert_array_equal(ranks, [2, 0, 2])
    with pytest.raises(ValueError, match='same shape'):
        partner_rank(a, a[:2])


def test_pooled_features_grid_cells_average_to_the_global_pool():
    from projects.reproduction.probes import pooled_features

    class Tiny(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Sequential(
                torch.nn.Conv2d(3, 5, 3, stride=2, padding=1))

        def data_preprocessor(self, data):
            return dict(inputs=torch.stack(data['inputs']).float())

    model = Tiny()
    model.backbone.forward = lambda x: (model.backbone[0](x), )
    g = torch.Generator().manual_seed(0)
    packed = [
        dict(inputs=torch.rand(3, 16, 16, generator=g), data_samples=None)
        for _ in range(7)
    ]
    f1 = pooled_features(model, packed, batch_size=3)
    f2 = pooled_features(model, packed, batch_size=3, grid=2)
    assert f1.shape == (7, 5) and f2.shape == (7, 20)
    # channel-major cells: (C, 2, 2) flattened; the 4 equal cells average
    # to the global mean of the 8 x 8 map
    np.testing.assert_allclose(
        f2.reshape(7, 5, 4).mean(-1), f1, rtol=1e-5, atol=1e-6)
    assert not np.allclose(f2.reshape(7, 5, 4)[..., 0], f1)
    with pytest.raises(ValueError, match='grid'):
        pooled_features(model, packed, grid=0)


def test_rotation_readout_reads_what_features_hold():
    from projects.reproduction.probes import rotation_readout
    rng = np.random.default_rng(0)
    theta = rng.uniform(-45, 45, 600)
    t = np.deg2rad(theta)
    noise = rng.normal(size=(600, 6))
    holds = np.concatenate([np.stack([np.cos(t), np.sin(t)], 1), noise], 1)
    res = rotation_readout(holds[:400], theta[:400], holds[400:], theta[400:])
    assert res['error_deg'] < 1.
    # uniform in +-45 degrees, answered with the mean: 22.5 degrees
    assert res['chance_deg'] == pytest.approx(22.5, abs=2.)
    blind = rotation_readout(noise[:400], theta[:400], noise[400:],
                             theta[400:])
    assert blind['error_deg'] > 0.9 * blind['chance_deg']


def test_orientation_spread_of_known_directions():
    from projects.reproduction.probes import orientation_spread
    rng = np.random.default_rng(1)
    angle = np.deg2rad(90 + rng.uniform(-30, 30, 5000))  # pointing up
    uv = np.zeros((5000, 21, 2))
    uv[:, 9] = np.stack([np.cos(angle), -np.sin(angle)], 1) * 40  # y down
    res = orientation_spread(uv)
    assert res['mean_deg'] == pytest.approx(90, abs=1.)
    # a uniform spread of +-30 degrees: std 30 / sqrt(3) = 17.3
    assert res['circular_std_deg'] == pytest.approx(17.3, abs=1.)
    assert res['p10_deg'] == pytest.approx(-24, abs=1.5)
    assert res['p90_deg'] == pytest.approx(24, abs=1.5)


def test_hand_orientation_of_known_directions():
    from projects.reproduction.probes import hand_orientation
    uv = np.zeros((4, 21, 2))
    # right, up (y down), left, down-right
    uv[:, 9] = [[10, 0], [0, -10], [-10, 0], [10, 10]]
    np.testing.assert_allclose(hand_orientation(uv), [0, 90, 180, -45])
    with pytest.raises(ValueError, match=r'\(N, J, 2\)'):
        hand_orientation(np.zeros((4, 21, 3)))
