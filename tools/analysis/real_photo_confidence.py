# Copyright (c) peclr_mm authors. All rights reserved.
"""Whether the inferencer's confidence can be trusted on real photographs,
and whether its 3-D output keeps the stated bone length.

    python tools/analysis/real_photo_confidence.py CONFIG CHECKPOINT \\
        --data-root data/real_world_0_291_left \\
        --out docs/results/real_photo_confidence.json

DATA is a FreiHAND-layout copy of a real-photo set with its hands as taken
(the real-world test set of Ge et al. written by
``tools/dataset_converters/real_world_testset.py --hand left``; frames
0-291 only). Every photo goes through :class:`Hand3DPoseInferencer` as a user's
would (MediaPipe finds the hand and says left or right; no camera, no bone
length given). Per hand matched to the ground truth (best box IoU) it
measures the 2-D error of the model's joints (pixels, and over the
ground-truth box's longer side) and the hand's ``score``; it prints the
Spearman rank correlation between the two (a useful confidence falls as
the error grows: target <= -0.5), how the hands above and below a score of
0.5 differ, and how far bone 9-10 of ``keypoints_3d`` is from the stated
length (target within 1 %). A second pass given each photo's true camera
and bone length measures the depth of the wrist against the truth.
"""
import argparse
import sys
import time

import numpy as np

import peclr_mm  # noqa: F401
from tools.analysis.real_photo_inference import read_set


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--data-root', required=True)
    p.add_argument('--split', default='evaluation')
    p.add_argument(
        '--hand',
        choices=('left', 'right'),
        default='left',
        help='the hand every image of the set shows')
    p.add_argument('--first', type=int, default=0)
    p.add_argument(
        '--last',
        type=int,
        default=291,
        help='last frame used (the real set: 0-291 only)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument(
        '--det-landmarks',
        choices=('lite', 'full'),
        default='lite',
        help='MediaPipe\'s landmark model (the inferencer\'s default: lite)')
    p.add_argument('--out', help='write the results to this json file')
    return p.parse_args(argv)


def spearman(a, b) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(x):
        x = np.asarray(x, np.float64)
        order = np.argsort(x, kind='mergesort')
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):  # ties share their mean rank
            tied = x == v
            r[tied] = r[tied].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def measure(inferencer, infos, hand: str) -> list:
    """Per photo: the matched hand's score, 2-D error and bone ratio."""
    from peclr_mm.apis import box_iou
    rows = []
    for info in infos:
        gt_uv = np.asarray(info['keypoints'], np.float64).reshape(21, 2)
        gt_box = np.concatenate([gt_uv.min(0), gt_uv.max(0)])
        samples, _, _, note = inferencer.predict_image(info['img_path'])
        row = dict(img_id=int(info['img_id']), found=bool(samples), note=note)
        if samples:
            ious = [
                box_iou(np.asarray(s.pred_instances.bboxes)[0], gt_box)
                for s in samples
            ]
            s = samples[int(np.argmax(ious))]
            uv = np.asarray(s.pred_instances.keypoints, np.float64)[0]
            xyz = np.asarray(s.pred_instances.keypoints_3d, np.float64)[0]
            joint_err = np.linalg.norm(uv - gt_uv, axis=1)
            err = float(joint_err.mean())
            side = float(max(gt_box[2:] - gt_box[:2]))
            row.update(
                joint_scores=np.asarray(s.pred_instances.keypoint_scores,
                                        np.float64)[0].tolist(),
                joint_err_per_box=(joint_err / side).tolist(),
                iou=float(max(ious)),
                handedness=s.metainfo['handedness'],
                score=s.metainfo['score'],
                epe2d_px=err,
                epe2d_per_box=err / side,
                bone_ratio=float(
                    np.linalg.norm(xyz[9] - xyz[10]) /
                    s.metainfo['bone_length']),
                K_source=s.metainfo['K_source'])
        rows.append(row)
    return rows


def depth_given_camera(inferencer, infos) -> dict:
    """The wrist's depth error (mm) with each photo's true K and bone
    length given."""
    errs = []
    inferencer.whole_image_K = False  # the crops' principal points vary
    for info in infos:
        inferencer.K = np.asarray(info['K'], np.float64)
        inferencer.bone_length = float(info['bone_length'])
        samples, _, _, _ = inferencer.predict_image(info['img_path'])
        if not samples:
            continue
        xyz = np.asarray(samples[0].pred_instances.keypoints_3d)[0]
        gt = np.asarray(info['keypoints_3d'], np.float64).reshape(21, 3)
        errs.append(abs(xyz[0, 2] - gt[0, 2]) * 1000)
    inferencer.K = inferencer.bone_length = None
    return dict(
        hands=len(errs),
        wrist_depth_error_mm_median=round(float(np.median(errs)), 1),
        wrist_depth_error_mm_mean=round(float(np.mean(errs)), 1))


def main(argv=None) -> int:
    args = parse_args(argv)
    from peclr_mm.apis import Hand3DPoseInferencer
    from peclr_mm.utils.io import atomic_write_json
    ds = read_set(args.config, args.data_root, args.split, args.hand)
    infos = [
        ds.get_data_info(i) for i in range(len(ds))
        if args.first <= ds.get_data_info(i)['img_id'] <= args.last
    ]
    inferencer = Hand3DPoseInferencer(
        args.config,
        args.checkpoint,
        threads=args.threads,
        det_complexity=0 if args.det_landmarks == 'lite' else 1)
    start = time.perf_counter()
    rows = measure(inferencer, infos, args.hand)
    wall = time.perf_counter() - start
    found = [r for r in rows if r['found']]
    scored = [r for r in found if r['score'] is not None]
    score = np.array([r['score'] for r in scored])
    err = np.array([r['epe2d_per_box'] for r in scored])
    px = np.array([r['epe2d_px'] for r in scored])
    bone = np.array([r['bone_ratio'] for r in found])
    joint_s = np.concatenate([r['joint_scores'] for r in scored])
    joint_e = np.concatenate([r['joint_err_per_box'] for r in scored])
    hi = score >= 0.5
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        data_root=args.data_root,
        frames=f'{args.first}-{args.last}',
        images=len(rows),
        hand=args.hand,
        hands_found=len(found),
        hands_scored=len(scored),
        handedness_accuracy=round(
            float(np.mean([r['handedness'] == args.hand for r in found])), 4),
        spearman_score_vs_epe2d=round(spearman(score, err), 4),
        spearman_score_vs_epe2d_px=round(spearman(score, px), 4),
        spearman_keypoint_scores_vs_joint_error=round(
            spearman(joint_s, joint_e), 4),
        score_median=round(float(np.median(score)), 4),
        epe2d_per_box_median=round(float(np.median(err)), 4),
        epe2d_px_median=round(float(np.median(px)), 2),
        score_at_least_0_5=dict(
            hands=int(hi.sum()),
            epe2d_per_box_median=round(float(np.median(err[hi])), 4)
            if hi.any() else None),
        score_below_0_5=dict(
            hands=int((~hi).sum()),
            epe2d_per_box_median=round(float(np.median(err[~hi])), 4) if
            (~hi).any() else None),
        bone_9_10_over_stated_max_abs_deviation=float(np.abs(bone - 1).max()),
        bone_length_stated='assumed 0.0335 m (none given)',
        K_sources=sorted({r['K_source']
                          for r in found}),
        seconds=round(wall, 1),
        threads=args.threads,
        mediapipe_landmarks=args.det_landmarks)
    result['depth_given_true_camera_and_bone'] = depth_given_camera(
        inferencer, infos)
    for key, value in result.items():
        print(f'{key}: {value}')
    if args.out:
        atomic_write_json(args.out, result, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
