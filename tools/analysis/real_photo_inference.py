# Copyright (c) peclr_mm authors. All rights reserved.
"""End-to-end inference on real photographs: MediaPipe finds the hand and
tells left from right, the model lifts it to 3-D; measured beside MediaPipe
alone on the same images.

    python tools/analysis/real_photo_inference.py CONFIG CHECKPOINT \\
        --data-root DATA --out docs/results/real_photo_inference.json

DATA is a FreiHAND-layout copy of a real-photo set with its hands as they
are (the real-world test set of Ge et al. written by
``tools/dataset_converters/real_world_testset.py --hand left`` holds
only left hands). Per image it measures whether a hand is found, the IoU of the
found box with the ground-truth box (the tight box of the projected
joints, the rule MediaPipe's box follows), whether the handedness is right
(``--hand`` of the set), the 2-D error in pixels of the model's joints and
of MediaPipe's own landmarks, and the time of the detector and of the
model (pictures off), with torch on 1 and on 2 threads. It also checks
that the inferencer, given the ground-truth box, camera and bone length,
returns exactly the 3-D joints ``tools/test.py`` dumps for the same crop.
"""
import argparse
import os.path as osp
import subprocess
import sys
import tempfile
import time

import numpy as np

import peclr_mm  # noqa: F401


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
    p.add_argument(
        '--first',
        type=int,
        default=0,
        help='first frame used (the real set: 0-291 only)')
    p.add_argument('--last', type=int, default=291)
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--out', help='write the results to this json file')
    return p.parse_args(argv)


def iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0., x2 - x1) * max(0., y2 - y1)
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return inter / union if union > 0 else 0.


def read_set(config, data_root, split, hand):
    """The config's test set at ``data_root`` (labels, no pipeline)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    cfg = Config.fromfile(config).test_dataloader.dataset
    cfg.update(data_root=data_root, split=split, hand=hand, pipeline=[])
    return DATASETS.build(cfg)


def end_to_end(inferencer, infos, threads) -> dict:
    """Detection, handedness, box IoU, 2-D errors and per-image times."""
    import torch
    torch.set_num_threads(threads)
    rows = []
    for info in infos:
        gt_uv = info['keypoints'][0]
        gt_box = np.concatenate([gt_uv.min(0), gt_uv.max(0)])
        samples, _, dets, _ = inferencer.predict_image(info['img_path'])
        row = dict(found=bool(samples))
        if samples:
            ious = [iou(d['bbox'], gt_box) for d in dets]
            k = int(np.argmax(ious))
            kpts = np.asarray(samples[k].pred_instances.keypoints)[0]
            row.update(
                iou=ious[k],
                handedness=samples[k].metainfo['handedness'],
                epe_model=float(np.linalg.norm(kpts - gt_uv, axis=1).mean()),
                epe_mediapipe=float(
                    np.linalg.norm(dets[k]['keypoints'] - gt_uv,
                                   axis=1).mean()),
                box_side=float(max(gt_box[2:] - gt_box[:2])))
        rows.append(row)
    t = inferencer.timing
    n = len(infos)
    det_ms, model_ms = t['detector_ms'][-n:], t['model_ms'][-n:]
    return rows, float(np.median(det_ms)), float(
        np.median(model_ms)) if model_ms else float('nan')


def parity(config, checkpoint, inferencer, infos, data_root, split,
           hand) -> float:
    """Largest difference (m) between the inferencer's 3-D joints given
    the ground-truth box, camera and bone length, and tools/test.py's
    dump of the same images."""
    from mmengine.fileio import load

    from peclr_mm.apis import inference_topdown_hand3d
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        dump = osp.join(tmp, 'dump.pkl')
        subprocess.run([
            sys.executable,
            osp.join(root, 'tools', 'test.py'), config, checkpoint,
            '--work-dir', tmp, '--dump', dump, '--cfg-options',
            f'test_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.split={split}',
            f'test_dataloader.dataset.hand={hand}',
            f'test_evaluator.mean_pose.data_root={data_root}'
        ],
                       check=True,
                       stdout=subprocess.DEVNULL)
        dumped = load(dump)
    by_path = {d['img_path']: d for d in dumped}
    worst = 0.
    for info in infos:
        ref = np.asarray(
            by_path[info['img_path']]['pred_instances']['keypoints_3d'])
        ours = inference_topdown_hand3d(
            inferencer.model,
            info['img_path'],
            info['bbox'],
            hands=hand,
            K=info['K'],
            bone_length=info['bone_length'],
            keep_bone=False)[0]  # as tools/test.py scores it
        worst = max(
            worst,
            float(
                np.abs(
                    np.asarray(ours.pred_instances.keypoints_3d) -
                    ref.reshape(1, 21, 3)).max()))
    return worst


def upscale_shift(model, infos, hand, factor=16, num=20) -> dict:
    """How far (in the model's input pixels) the 2-D joints move when the
    photo is a ``factor`` x larger copy (bicubic upscale, plus the 8-bit
    noise a phone adds), its box and camera scaled alike: the crop's
    anti-aliasing at work."""
    import cv2

    from peclr_mm.apis import inference_topdown_hand3d, load_image
    rng = np.random.RandomState(0)
    input_size = None
    shifts = []
    for info in infos[:num]:
        small = load_image(info['img_path'])
        h, w = small['img_shape'][:2]
        big = cv2.resize(
            small['img'], (w * factor, h * factor),
            interpolation=cv2.INTER_CUBIC)
        big = np.clip(big + rng.normal(0, 4, big.shape), 0,
                      255).astype(np.uint8)
        # pixel centres: u_big = factor * u + (factor - 1) / 2
        S = np.array([[factor, 0, (factor - 1) / 2.],
                      [0, factor, (factor - 1) / 2.], [0, 0, 1]])
        box = info['bbox'].reshape(-1)
        big_box = np.concatenate(
            [S[:2, :2] @ box[:2] + S[:2, 2], S[:2, :2] @ box[2:] + S[:2, 2]])
        ref = inference_topdown_hand3d(
            model,
            small,
            box,
            hands=hand,
            K=info['K'],
            bone_length=info['bone_length'])[0]
        up = inference_topdown_hand3d(
            model,
            big,
            big_box,
            hands=hand,
            K=S @ info['K'],
            bone_length=info['bone_length'])[0]
        warp = np.asarray(ref.metainfo['warp_mat'], np.float64)
        input_size = int(ref.metainfo['input_size'][0]) if np.ndim(
            ref.metainfo['input_size']) else int(ref.metainfo['input_size'])
        a = np.asarray(ref.pred_instances.keypoints)[0]
        b = (np.asarray(up.pred_instances.keypoints)[0] -
             (factor - 1) / 2.) / factor
        a_in = a @ warp[:, :2].T + warp[:, 2]
        b_in = b @ warp[:, :2].T + warp[:, 2]
        shifts.append(float(np.linalg.norm(a_in - b_in, axis=1).mean()))
    return dict(
        factor=factor,
        images=len(shifts),
        input_size=input_size,
        shift_px_at_input_mean=float(np.mean(shifts)),
        shift_px_at_input_max=float(np.max(shifts)))


def main(argv=None) -> int:
    args = parse_args(argv)
    from peclr_mm.apis import Hand3DPoseInferencer
    from peclr_mm.utils.io import atomic_write_json
    ds = read_set(args.config, args.data_root, args.split, args.hand)
    infos = [
        ds.get_data_info(i) for i in range(len(ds))
        if args.first <= ds.get_data_info(i)['img_id'] <= args.last
    ]
    inferencer = Hand3DPoseInferencer(args.config, args.checkpoint)
    inferencer.predict_image(infos[0]['img_path'])  # warm-up
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        data_root=args.data_root,
        frames=f'{args.first}-{args.last}',
        images=len(infos),
        hand=args.hand,
        threads={})
    for threads in args.threads:
        start = time.perf_counter()
        rows, det_ms, model_ms = end_to_end(inferencer, infos, threads)
        wall = time.perf_counter() - start
        found = [r for r in rows if r['found']]
        side = np.array([r['box_side'] for r in found])
        result['threads'][str(threads)] = dict(
            detector_ms_median=round(det_ms, 1),
            model_ms_median=round(model_ms, 1),
            wall_s=round(wall, 1),
            images_per_s=round(len(infos) / wall, 1))
        result.update(
            detection_rate=len(found) / len(rows),
            iou_mean=float(np.mean([r['iou'] for r in found])),
            iou_median=float(np.median([r['iou'] for r in found])),
            iou_at_least_0_5=float(np.mean([r['iou'] >= .5 for r in found])),
            handedness_accuracy=float(
                np.mean([r['handedness'] == args.hand for r in found])),
            epe2d_px_model=float(np.mean([r['epe_model'] for r in found])),
            epe2d_px_mediapipe=float(
                np.mean([r['epe_mediapipe'] for r in found])),
            epe2d_per_box_model=float(
                np.mean([r['epe_model'] for r in found] / side)),
            epe2d_per_box_mediapipe=float(
                np.mean([r['epe_mediapipe'] for r in found] / side)))
        print(f'threads {threads}: {result["threads"][str(threads)]}')
    result['epe2d_ratio_model_to_mediapipe'] = (
        result['epe2d_px_model'] / result['epe2d_px_mediapipe'])
    result['upscale'] = upscale_shift(inferencer.model, infos, args.hand)
    result['parity_max_abs_m'] = parity(args.config, args.checkpoint,
                                        inferencer, infos, args.data_root,
                                        args.split, args.hand)
    for key, value in result.items():
        if key != 'threads':
            print(f'{key}: {value}')
    if args.out:
        atomic_write_json(args.out, result, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
