# Copyright (c) peclr_mm authors. All rights reserved.
"""freihand_scores against a loop-by-loop transcription of the official
FreiHAND scoring (``eval.py`` and ``utils/eval_util.py``)."""
import time

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

from peclr_mm.evaluation import (align_w_scale, epe_2d, freihand_scores,
                                 root_relative_epe)

_trapz = getattr(np, 'trapezoid', None) or np.trapz


# ---- transcription of the official code, kept as loops on purpose ----------
def official_align_w_scale(mtx1, mtx2):
    mtx1 = np.array(mtx1, dtype=np.float64)
    mtx2 = np.array(mtx2, dtype=np.float64)
    t1 = mtx1.mean(0)
    t2 = mtx2.mean(0)
    mtx1_t = mtx1 - t1
    mtx2_t = mtx2 - t2
    s1 = np.linalg.norm(mtx1_t) + 1e-8
    mtx1_t /= s1
    s2 = np.linalg.norm(mtx2_t) + 1e-8
    mtx2_t /= s2
    R, s = orthogonal_procrustes(mtx1_t, mtx2_t)
    mtx2_t = np.dot(mtx2_t, R.T) * s
    return mtx2_t * s1 + t1


class OfficialEvalUtil:

    def __init__(self, num_kp=21):
        self.data = [list() for _ in range(num_kp)]
        self.num_kp = num_kp

    def feed(self, keypoint_gt, keypoint_vis, keypoint_pred):
        keypoint_gt = np.squeeze(keypoint_gt)
        keypoint_pred = np.squeeze(keypoint_pred)
        keypoint_vis = np.squeeze(keypoint_vis).astype('bool')
        diff = keypoint_gt - keypoint_pred
        euclidean_dist = np.sqrt(np.sum(np.square(diff), axis=1))
        for i in range(keypoint_gt.shape[0]):
            if keypoint_vis[i]:
                self.data[i].append(euclidean_dist[i])

    def _get_pck(self, kp_id, threshold):
        data = np.array(self.data[kp_id])
        return np.mean((data <= threshold).astype('float'))

    def _get_epe(self, kp_id):
        data = np.array(self.data[kp_id])
        return np.mean(data), np.median(data)

    def get_measures(self, val_min, val_max, steps):
        thresholds = np.array(np.linspace(val_min, val_max, steps))
        norm_factor = _trapz(np.ones_like(thresholds), thresholds)
        epe_mean_all, epe_median_all, auc_all, pck_curve_all = [], [], [], []
        for part_id in range(self.num_kp):
            mean, median = self._get_epe(part_id)
            epe_mean_all.append(mean)
            epe_median_all.append(median)
            pck_curve = np.array(
                [self._get_pck(part_id, t) for t in thresholds])
            pck_curve_all.append(pck_curve)
            auc_all.append(_trapz(pck_curve, thresholds) / norm_factor)
        return (np.mean(epe_mean_all),
                np.mean(epe_median_all), np.mean(auc_all),
                np.mean(np.array(pck_curve_all),
                        0), thresholds, np.array(epe_mean_all))


def official_scores(pred, gt):
    eval_xyz, eval_xyz_aligned = OfficialEvalUtil(), OfficialEvalUtil()
    for xyz, xyz_pred in zip(gt, pred):
        eval_xyz.feed(xyz, np.ones_like(xyz[:, 0]), xyz_pred)
        eval_xyz_aligned.feed(xyz, np.ones_like(xyz[:, 0]),
                              official_align_w_scale(xyz, xyz_pred))
    return (eval_xyz.get_measures(0.0, 0.05, 100),
            eval_xyz_aligned.get_measures(0.0, 0.05, 100))


# ---- helpers ----------------------------------------------------------------
# The official alignment adds 1e-8 to both norms, so an exact similarity is
# aligned to a few nanometres, not to zero.
ALIGNED_ZERO_MM = 1e-4


def random_hands(rng, num):
    """Hand-sized point sets about 0.6 m in front of the camera."""
    return (rng.normal(scale=0.04, size=(num, 21, 3)) +
            rng.uniform([-0.1, -0.1, 0.4], [0.1, 0.1, 0.9], size=(num, 1, 3)))


def random_rotations(rng, num):
    q, r = np.linalg.qr(rng.normal(size=(num, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0, :, 0] *= -1
    return q


def assert_matches_official(pred, gt):
    ours = freihand_scores(pred, gt)
    official = dict(zip(('', 'pa_'), official_scores(pred, gt)))
    for prefix, (mean, median, auc, pck, thr, per_joint) in official.items():
        close = dict(rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours[f'{prefix}epe_mm'], mean * 1e3,
                                   **close)
        np.testing.assert_allclose(ours[f'{prefix}epe_median_mm'],
                                   median * 1e3, **close)
        np.testing.assert_allclose(ours[f'{prefix}auc'], auc, **close)
        np.testing.assert_allclose(ours[f'{prefix}pck_curve'], pck, **close)
        np.testing.assert_allclose(ours[f'per_joint_{prefix}epe_mm'],
                                   per_joint * 1e3, **close)
        np.testing.assert_allclose(ours['thresholds_mm'], thr * 1e3)
    return ours


# ---- against the official code ----------------------------------------------
@pytest.mark.parametrize('noise_m', [0.005, 0.02, 0.08])
def test_matches_official_on_noisy_predictions(noise_m):
    rng = np.random.default_rng(int(noise_m * 1e3))
    gt = random_hands(rng, 60)
    pred = gt + rng.normal(scale=noise_m, size=gt.shape)
    ours = assert_matches_official(pred, gt)
    assert 0 < ours['pa_epe_mm'] < ours['epe_mm']
    assert 0 < ours['auc'] < 1 and 0 < ours['pa_auc'] < 1


def test_matches_official_on_unrelated_predictions():
    # Large errors: here scipy's Procrustes often picks a reflection.
    rng = np.random.default_rng(7)
    assert_matches_official(random_hands(rng, 60), random_hands(rng, 60))


def test_align_equals_scipy_per_sample():
    rng = np.random.default_rng(1)
    gt = random_hands(rng, 200)
    pred = random_hands(rng, 200)
    batched = align_w_scale(gt, pred)
    for i in range(len(gt)):
        np.testing.assert_allclose(
            batched[i], official_align_w_scale(gt[i], pred[i]), atol=1e-12)
    np.testing.assert_allclose(
        align_w_scale(gt[0], pred[0]), batched[0], atol=1e-15)


def test_mirror_image_aligns_to_zero_error():
    rng = np.random.default_rng(2)
    gt = random_hands(rng, 20)
    mirror = np.diag([-1.0, 1.0, 1.0])
    centroid = gt.mean(axis=1, keepdims=True)
    pred = (gt - centroid) @ mirror + centroid
    ours = assert_matches_official(pred, gt)
    assert ours['epe_mm'] > 5
    assert ours['pa_epe_mm'] < ALIGNED_ZERO_MM

    # A proper-rotation-only Procrustes (mmpose's) cannot undo the mirror.
    gt_c = gt - centroid
    pred_c = pred - centroid
    u, _, vt = np.linalg.svd(np.swapaxes(gt_c, 1, 2) @ pred_c)
    fix = np.ones((len(gt), 3))
    fix[:, 2] = np.sign(np.linalg.det(u @ vt))
    rot = (u * fix[:, None, :]) @ vt
    rotated = pred_c @ np.swapaxes(rot, 1, 2) + centroid
    assert np.linalg.norm(rotated - gt, axis=2).mean() * 1e3 > 1


# ---- identities -------------------------------------------------------------
def test_perfect_prediction():
    gt = random_hands(np.random.default_rng(3), 10)
    ours = freihand_scores(gt.copy(), gt)
    assert ours['epe_mm'] == 0 and ours['epe_median_mm'] == 0
    assert ours['auc'] == 1
    np.testing.assert_array_equal(ours['pck_curve'], 1)
    assert ours['pa_epe_mm'] < ALIGNED_ZERO_MM
    # Aligned distances are nanometres, not 0: the official PCK at threshold
    # 0 counts them as wrong, which costs at most half a trapezoid step.
    assert 1 - 0.5 / 99 <= ours['pa_auc'] <= 1


def test_similarity_transform_is_removed_by_alignment():
    rng = np.random.default_rng(4)
    gt = random_hands(rng, 30)
    rot = random_rotations(rng, 30)
    scale = rng.uniform(0.5, 2.0, size=(30, 1, 1))
    shift = rng.normal(scale=0.05, size=(30, 1, 3))
    pred = scale * (gt @ np.swapaxes(rot, 1, 2)) + shift
    ours = freihand_scores(pred, gt)
    assert ours['epe_mm'] > 10
    assert ours['pa_epe_mm'] < ALIGNED_ZERO_MM
    np.testing.assert_array_less(ours['per_joint_pa_epe_mm'], ALIGNED_ZERO_MM)


def test_constant_offset_gives_analytic_scores():
    gt = random_hands(np.random.default_rng(5), 25)
    pred = gt + np.array([0.006, 0.0, 0.008])  # 10 mm on every joint
    ours = assert_matches_official(pred, gt)
    np.testing.assert_allclose(ours['epe_mm'], 10.0, atol=1e-9)
    np.testing.assert_allclose(ours['epe_median_mm'], 10.0, atol=1e-9)
    np.testing.assert_allclose(ours['per_joint_epe_mm'], 10.0, atol=1e-9)
    # Thresholds are k * 50/99 mm: PCK is 0 for k <= 19 (9.6 mm) and 1 from
    # k = 20 (10.1 mm), so the area is (0.5 + 79) steps out of 99.
    expected_pck = (np.arange(100) >= 20).astype(float)
    np.testing.assert_array_equal(ours['pck_curve'], expected_pck)
    np.testing.assert_allclose(ours['auc'], 79.5 / 99, rtol=1e-12)
    # A translation is aligned away.
    assert ours['pa_epe_mm'] < ALIGNED_ZERO_MM


def test_thresholds_are_official():
    ours = freihand_scores(np.zeros((1, 21, 3)), np.ones((1, 21, 3)))
    np.testing.assert_allclose(ours['thresholds_mm'], np.linspace(0, 50, 100))
    assert ours['pck_curve'].shape == ours['pa_pck_curve'].shape == (100, )
    assert ours['per_joint_epe_mm'].shape == (21, )


def test_accepts_float32_and_lists():
    gt = random_hands(np.random.default_rng(6), 5)
    pred = gt + 0.003
    ref = freihand_scores(pred, gt)
    ours = freihand_scores(
        pred.astype(np.float32).tolist(), gt.astype(np.float32))
    np.testing.assert_allclose(ours['epe_mm'], ref['epe_mm'], rtol=1e-4)


def test_fast_for_full_evaluation_set():
    rng = np.random.default_rng(8)
    gt = random_hands(rng, 4000)
    pred = gt + rng.normal(scale=0.01, size=gt.shape)
    start = time.perf_counter()
    freihand_scores(pred, gt)
    assert time.perf_counter() - start < 2.0


# ---- validation -------------------------------------------------------------
@pytest.mark.parametrize('shape', [(4, 20, 3), (4, 21, 2), (21, 3), (0, 21, 3),
                                   (2, 4, 21, 3)])
@pytest.mark.parametrize('name', ['pred_xyz', 'gt_xyz'])
def test_rejects_bad_shapes(shape, name):
    good = np.ones((4, 21, 3))
    args = dict(pred_xyz=good, gt_xyz=good)
    args[name] = np.ones(shape)
    with pytest.raises(ValueError, match=rf'{name}.*\(N, 21, 3\)'):
        freihand_scores(**args)


def test_rejects_different_sample_counts():
    with pytest.raises(ValueError, match='same N'):
        freihand_scores(np.ones((3, 21, 3)), np.ones((4, 21, 3)))


@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_rejects_non_finite(bad):
    pred = np.ones((3, 21, 3))
    pred[2, 5, 1] = bad
    with pytest.raises(ValueError, match='pred_xyz.*sample 2'):
        freihand_scores(pred, np.ones((3, 21, 3)))


def test_rejects_non_numeric():
    with pytest.raises(ValueError, match='gt_xyz'):
        freihand_scores(np.ones((1, 21, 3)), [['a'] * 3] * 21)


def test_root_relative_epe_ignores_translation_keeps_rotation():
    rng = np.random.default_rng(3)
    gt = rng.normal(scale=0.04, size=(5, 21, 3)) + [0, 0, 0.7]
    # a translated hand is perfect once its wrists are aligned
    assert root_relative_epe(gt + [0.1, -0.2, 0.3], gt) == pytest.approx(
        0, abs=1e-9)
    # a rotated one is not (PA-EPE would call it perfect)
    c, s = np.cos(0.5), np.sin(0.5)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    rotated = (gt - gt[:, :1]) @ R.T + gt[:, :1]
    rel_gt = gt - gt[:, :1]
    ref = np.linalg.norm(rel_gt @ R.T - rel_gt, axis=2).mean() * 1e3
    assert root_relative_epe(rotated, gt) == pytest.approx(ref)
    assert root_relative_epe(rotated, gt) > 10
    assert freihand_scores(rotated, gt)['pa_epe_mm'] < 1e-3
    # another root joint: the reference formula
    pred = gt + rng.normal(scale=0.01, size=gt.shape)
    ref9 = np.linalg.norm(
        (pred - pred[:, 9:10]) - (gt - gt[:, 9:10]), axis=2).mean() * 1e3
    assert root_relative_epe(pred, gt, root=9) == pytest.approx(ref9)
    with pytest.raises(ValueError, match='root'):
        root_relative_epe(pred, gt, root=21)


def test_epe_2d_in_pixels():
    K = np.array([[[500., 0, 100], [0, 400., 120], [0, 0, 1]]] * 2)
    gt = np.zeros((2, 21, 3))
    gt[..., 2] = 1.0
    # a hand scaled about the camera centre projects to the same pixels
    assert epe_2d(gt * 1.7, gt, K) == pytest.approx(0, abs=1e-9)
    # 1 cm along x at 1 m with fx = 500: 5 px; along y with fy = 400: 4 px
    pred = gt.copy()
    pred[0, :, 0] += 0.01
    pred[1, :, 1] += 0.01
    assert epe_2d(pred, gt, K) == pytest.approx(4.5)
    with pytest.raises(ValueError, match='K must have shape'):
        epe_2d(pred, gt, K[0])
