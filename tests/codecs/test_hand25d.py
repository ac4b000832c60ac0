# Copyright (c) peclr_mm authors. All rights reserved.
import numpy as np
import pytest
import torch

from peclr_mm.codecs.hand25d import (Hand25DCodec, backproject, encode_25d,
                                     root_depth_closed_form)
from peclr_mm.utils.affine import (compose, crop_intrinsics, crop_matrix,
                                   similarity_about, transform_points)

ROOTS = ['palm', 0, 9]
TOL = {np.float64: 1e-9, np.float32: 1e-5}


def decode(codec, uv, z_rel, K_crop, bone, z_root=None):
    """The codec's decoding of ``uv`` (N, K, 2) and ``z_rel`` (N, K)."""
    encoded = np.concatenate([uv, np.asarray(z_rel)[..., None]], -1)
    xyz, scores = codec.decode(encoded, K_crop, bone, z_root)
    assert scores.shape == encoded.shape[:2] and (scores == 1).all()
    return xyz


def random_hands(rng, n=16):
    """Random hands in front of random cameras, cropped with random
    rotation + scale + translation warps.

    Returns xyz (n, 21, 3) metres, K (n, 3, 3), warp (n, 2, 3), K_crop,
    bone (n,).
    """
    root = np.stack([
        rng.uniform(-0.15, 0.15, n),
        rng.uniform(-0.15, 0.15, n),
        rng.uniform(0.3, 1.2, n)
    ], 1)
    xyz = root[:, None] + rng.normal(scale=0.04, size=(n, 21, 3))
    # A 3 cm reference bone. When it points almost along the viewing ray both
    # roots of the quadratic are positive and the true depth may be the
    # smaller one (the closed form's known ambiguity), so keep it > 45 deg
    # off the ray, as for real hands at the crop centre.
    for i in range(n):
        ray = xyz[i, 9] / np.linalg.norm(xyz[i, 9])
        while True:
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            if abs(d @ ray) < 0.7:
                break
        xyz[i, 10] = xyz[i, 9] + rng.uniform(0.02, 0.04) * d
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = rng.uniform(300, 700, n)
    K[:, 1, 1] = K[:, 0, 0] * rng.uniform(0.95, 1.05, n)
    K[:, 0, 2] = rng.uniform(90, 130, n)
    K[:, 1, 2] = rng.uniform(90, 130, n)
    K[:, 2, 2] = 1
    warps = []
    for i in range(n):
        uv = xyz[i] @ K[i].T
        uv = uv[:, :2] / uv[:, 2:]
        crop = crop_matrix(uv.mean(0), 1.3 * np.ptp(uv, 0).max(), 224)
        aug = similarity_about((112, 112), rng.uniform(-180, 180),
                               rng.uniform(0.6, 1.6), rng.uniform(-30, 30, 2))
        warps.append(compose(aug, crop))
    warp = np.stack(warps)
    bone = np.linalg.norm(xyz[:, 9] - xyz[:, 10], axis=-1)
    return xyz, K, warp, crop_intrinsics(K, warp), bone


def crop_uv(xyz, K_crop):
    """Crop-pixel projections, what WarpView writes as
    ``transformed_keypoints``."""
    K_crop = np.broadcast_to(K_crop, (len(xyz), 3, 3))
    uvw = np.einsum('nij,nkj->nki', K_crop.astype(np.float64),
                    xyz.astype(np.float64))
    return uvw[..., :2] / uvw[..., 2:]


def encode(codec, xyz, K_crop, bone):
    """``GenerateTarget``'s call: keypoints plus the auxiliary keys."""
    return codec.encode(
        crop_uv(xyz, K_crop).astype(xyz.dtype),
        keypoints_3d=xyz,
        K_crop=K_crop,
        bone_length=bone)


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
@pytest.mark.parametrize('root', ROOTS)
def test_round_trip_closed_form(dtype, root):
    rng = np.random.default_rng(0)
    xyz, K, warp, K_crop, bone = random_hands(rng)
    xyz, K_crop, bone = (a.astype(dtype) for a in (xyz, K_crop, bone))
    codec = Hand25DCodec(root=root)
    enc = encode(codec, xyz, K_crop, bone)
    assert enc['keypoint_labels'].dtype == dtype
    assert enc['keypoint_labels'].shape == (16, 21, 2)
    assert enc['keypoint_weights'].shape == (16, 21)
    assert enc['z_rel_labels'].shape == (16, 21)
    assert enc['z_root_labels'].shape == (16, )
    # uv are the crop-pixel projections: original projection, then the warp,
    uv_img = np.einsum('nij,nkj->nki', K, xyz.astype(np.float64))
    uv_img = uv_img[..., :2] / uv_img[..., 2:]
    uv_crop = np.stack([transform_points(p, w) for p, w in zip(uv_img, warp)])
    np.testing.assert_allclose(enc['keypoint_labels'], uv_crop, atol=1e-3)
    # closed-form root depth (z_root not given)
    out = decode(codec, enc['keypoint_labels'], enc['z_rel_labels'], K_crop,
                 bone)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, xyz, rtol=0, atol=TOL[dtype])
    # given root depth
    out = decode(codec, enc['keypoint_labels'], enc['z_rel_labels'], K_crop,
                 bone, enc['z_root_labels'])
    np.testing.assert_allclose(out, xyz, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize('root', ROOTS)
def test_root_definition(root):
    rng = np.random.default_rng(1)
    xyz, _, _, K_crop, bone = random_hands(rng, 4)
    enc = encode(Hand25DCodec(root=root), xyz, K_crop, bone)
    z_rel = enc['z_rel_labels']
    if root == 'palm':
        z_root = (xyz[:, 0, 2] + xyz[:, 9, 2]) / 2
        np.testing.assert_allclose(z_rel[:, 0], -z_rel[:, 9])
    else:
        z_root = xyz[:, root, 2]
        np.testing.assert_array_equal(z_rel[:, root], 0)
    np.testing.assert_allclose(enc['z_root_labels'], z_root / bone)
    np.testing.assert_allclose(z_rel,
                               (xyz[..., 2] - z_root[:, None]) / bone[:, None])


def test_single_instance_matches_batch():
    rng = np.random.default_rng(2)
    xyz, _, _, K_crop, bone = random_hands(rng, 3)
    codec = Hand25DCodec()
    batch = encode(codec, xyz, K_crop, bone)
    # one instance with one camera and a scalar bone, as in a pipeline
    one = encode(codec, xyz[1:2], K_crop[1], float(bone[1]))
    assert one['keypoint_labels'].shape == (1, 21, 2)
    assert one['z_root_labels'].shape == (1, )
    for k in one:
        np.testing.assert_allclose(one[k], batch[k][1:2])
    out = decode(codec, one['keypoint_labels'], one['z_rel_labels'], K_crop[1],
                 bone[1])
    assert out.shape == (1, 21, 3)
    np.testing.assert_allclose(out[0], xyz[1], atol=1e-9)


def test_encode_refuses_inconsistent_keypoints():
    rng = np.random.default_rng(7)
    xyz, _, _, K_crop, bone = random_hands(rng, 1)
    codec = Hand25DCodec()
    uv = crop_uv(xyz, K_crop)
    uv[0, 3, 0] += 0.5  # a transform moved a keypoint but not K_crop
    with pytest.raises(ValueError, match='K_crop'):
        codec.encode(uv, keypoints_3d=xyz, K_crop=K_crop, bone_length=bone)
    with pytest.raises(KeyError, match='bone_length'):
        codec.encode(uv, keypoints_3d=xyz, K_crop=K_crop)
    with pytest.raises(ValueError, match='keypoints_3d'):
        codec.encode(
            uv[0], keypoints_3d=xyz[0], K_crop=K_crop, bone_length=bone)


@pytest.mark.parametrize('root', ROOTS)
def test_closed_form_equals_true_root_depth(root):
    rng = np.random.default_rng(3)
    xyz, _, _, K_crop, bone = random_hands(rng, 32)
    xyz_t, K_t = torch.from_numpy(xyz), torch.from_numpy(K_crop)
    enc = {
        k: torch.from_numpy(v)
        for k, v in encode_25d(xyz, K_crop, bone, root).items()
    }
    xhat = backproject(enc['uv'], K_t)
    torch.testing.assert_close(xhat[..., :2], xyz_t[..., :2] / xyz_t[..., 2:])
    z_root = root_depth_closed_form(xhat, enc['z_rel'], (9, 10))
    torch.testing.assert_close(z_root, enc['z_root'], rtol=0, atol=1e-9)
    # the other root of the quadratic is a different (smaller) depth, so the
    # test fails if the smaller root were taken
    assert (enc['z_root'] > 0).all()


def test_other_reference_bone():
    rng = np.random.default_rng(4)
    xyz, _, _, K_crop, _ = random_hands(rng, 8)
    bone = np.linalg.norm(xyz[:, 0] - xyz[:, 1], axis=-1)
    codec = Hand25DCodec(root=0, ref_bone=(0, 1))
    enc = encode(codec, xyz, K_crop, bone)
    uv, z_rel = enc['keypoint_labels'], enc['z_rel_labels']
    out = decode(codec, uv, z_rel, K_crop, bone)
    np.testing.assert_allclose(out, xyz, atol=1e-9)
    # the wrong bone length gives a different root depth
    wrong = decode(codec, uv, z_rel, K_crop, bone * 1.5)
    assert np.abs(wrong - xyz).max() > 1e-3


def test_degenerate_inputs_are_finite():
    rng = np.random.default_rng(5)
    xyz, _, _, K_crop, bone = random_hands(rng, 4)
    codec = Hand25DCodec()
    enc = encode(codec, xyz, K_crop, bone)
    labels = enc['keypoint_labels']
    # negative discriminant: relative depths no unit bone can satisfy
    z_rel = enc['z_rel_labels'].copy()
    z_rel[:, 9], z_rel[:, 10] = 2., -2.
    xhat = backproject(torch.from_numpy(labels), torch.from_numpy(K_crop))
    zn, zm = z_rel[:, 9], z_rel[:, 10]
    x, y = xhat[..., 0].numpy(), xhat[..., 1].numpy()
    a = (x[:, 9] - x[:, 10])**2 + (y[:, 9] - y[:, 10])**2
    b = 2 * (
        zn *
        (x[:, 9]**2 + y[:, 9]**2 - x[:, 9] * x[:, 10] - y[:, 9] * y[:, 10]) +
        zm *
        (x[:, 10]**2 + y[:, 10]**2 - x[:, 9] * x[:, 10] - y[:, 9] * y[:, 10]))
    c = ((x[:, 9] * zn - x[:, 10] * zm)**2 +
         (y[:, 9] * zn - y[:, 10] * zm)**2 + (zn - zm)**2 - 1)
    assert (b**2 - 4 * a * c < 0).all()
    z_root = root_depth_closed_form(xhat, torch.from_numpy(z_rel))
    np.testing.assert_allclose(z_root.numpy(), -b / (2 * a))
    assert np.isfinite(decode(codec, labels, z_rel, K_crop, bone)).all()
    # both reference joints on one ray: a == 0
    uv = labels.copy()
    uv[:, 10] = uv[:, 9]
    assert np.isfinite(decode(codec, uv, enc['z_rel_labels'], K_crop,
                              bone)).all()
    # joints behind the camera and on the camera plane (the projection of a
    # joint on the camera plane is far away but finite)
    behind = xyz.copy()
    behind[:, :5, 2] *= -1
    behind[:, 5, 2] = 0.
    enc = Hand25DCodec(max_reprojection_error=np.inf).encode(
        np.zeros((4, 21, 2)),
        keypoints_3d=behind,
        K_crop=K_crop,
        bone_length=bone)
    assert all(np.isfinite(v).all() for v in enc.values())
    out = decode(codec, enc['keypoint_labels'], enc['z_rel_labels'], K_crop,
                 bone)
    assert np.isfinite(out).all()
    # all-zero network output
    out = decode(codec, np.zeros((4, 21, 2)), np.zeros((4, 21)), K_crop,
                 np.zeros(4))
    assert np.isfinite(out).all()


def test_invalid_arguments():
    with pytest.raises(ValueError, match='root'):
        Hand25DCodec(root='wrist')
    with pytest.raises(ValueError, match='root'):
        Hand25DCodec(root=21)
    with pytest.raises(ValueError, match='ref_bone'):
        Hand25DCodec(ref_bone=(9, 30))


def test_registered_and_one_uv_unit():
    from mmpose.registry import KEYPOINT_CODECS
    codec = KEYPOINT_CODECS.build(
        dict(type='Hand25DCodec', input_size=(256, 192), root=9))
    assert isinstance(codec, Hand25DCodec) and codec.root == 9
    # uv is crop pixels from the labels to the loss: no normalisation step
    assert not hasattr(codec, 'normalize_uv')
    assert not hasattr(codec, 'denormalize_uv')


def test_decode_is_differentiable():
    rng = np.random.default_rng(6)
    xyz, _, _, K_crop, bone = random_hands(rng, 2)
    enc = encode_25d(xyz, K_crop, bone)
    uv = torch.from_numpy(enc['uv']).requires_grad_()
    z_rel = torch.from_numpy(enc['z_rel']).requires_grad_()
    codec = Hand25DCodec()
    xhat = codec.rays(uv, torch.from_numpy(K_crop))
    out = codec.camera_joints(xhat, z_rel, codec.closed_form_root(xhat, z_rel),
                              torch.from_numpy(bone))
    out.sum().backward()
    assert torch.isfinite(uv.grad).all() and uv.grad.abs().sum() > 0
    assert torch.isfinite(z_rel.grad).all()


@pytest.mark.parametrize('root, slot', [('palm', 0), ('palm', 9), (9, 9)])
def test_root_slot_round_trip(root, slot):
    """With ``root_slot`` the slot holds the root (zero z_rel) and decoding
    recovers the joint: the released model's palm in the wrist's place."""
    from peclr_mm.codecs.hand25d import place_root, restore_root_slot
    xyz, K, warp, K_crop, bone = random_hands(np.random.default_rng(3), 8)
    codec = Hand25DCodec(input_size=(224, 224), root=root, root_slot=slot)
    enc = codec.encode(crop_uv(xyz, K_crop), None, xyz, K_crop, bone)
    assert np.abs(enc['z_rel_labels'][:, slot]).max() < 1e-12
    palm = (xyz[:, 0] + xyz[:, 9]) / 2 if root == 'palm' else xyz[:, 9]
    uvw = np.einsum('bij,bj->bi', K_crop, palm)
    np.testing.assert_allclose(
        enc['keypoint_labels'][:, slot], uvw[:, :2] / uvw[:, 2:], atol=1e-6)
    out = decode(codec, enc['keypoint_labels'], enc['z_rel_labels'], K_crop,
                 bone, enc['z_root_labels'])
    np.testing.assert_allclose(out, xyz, atol=1e-9)
    t = torch.from_numpy(xyz)
    torch.testing.assert_close(
        restore_root_slot(place_root(t, root, slot), root, slot), t)
    with pytest.raises(ValueError, match='root_slot must be one of'):
        Hand25DCodec(root='palm', root_slot=5)
