# Copyright (c) peclr_mm authors. All rights reserved.
"""A picture of what a trained 2.5-D model predicts on evaluation images.

    python tools/analysis/show_predictions.py CONFIG CHECKPOINT \
        --out predictions.png [--num 8] [--cols 4] [--cfg-options ...]

Runs the config's test pipeline and model on ``--num`` evenly spaced
samples of its test split and draws, per image, the predicted 2-D skeleton
(the camera-frame 3-D joints projected with the sample's ``K``) over the
original image, and beside it the ground truth; the caption gives the
sample's EPE-2D (px), RR-EPE and PA-EPE (mm). The checkpoint is loaded
with the project's safe loader and must belong to the config's model.
"""
import argparse
import sys

import numpy as np
from mmengine.config import DictAction

import peclr_mm  # noqa: F401
from peclr_mm.datasets import project
from peclr_mm.evaluation import freihand_scores, root_relative_epe
from peclr_mm.visualization import draw_skeleton_2d


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--cols', type=int, default=4)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def predict(model, dataset, indices):
    """(pred_xyz, gt_xyz, K, images) of the samples ``indices``."""
    import cv2
    import torch
    from mmengine.dataset import pseudo_collate
    preds, gts, Ks, imgs = [], [], [], []
    for i in indices:
        data = dataset[int(i)]
        with torch.no_grad():
            out = model.test_step(pseudo_collate([data]))[0]
        preds.append(np.asarray(out.pred_instances.keypoints_3d)[0])
        gts.append(np.asarray(out.gt_instances.keypoints_3d)[0])
        Ks.append(np.asarray(out.metainfo['K'], np.float64))
        imgs.append(cv2.imread(out.metainfo['img_path']))
    return np.stack(preds), np.stack(gts), np.stack(Ks), imgs


def grid(pred, gt, K, imgs, cols: int) -> np.ndarray:
    """Prediction | ground truth pairs in rows of ``cols`` pairs."""
    tiles = []
    for n, (p, g, k, img) in enumerate(zip(pred, gt, K, imgs)):
        uv_p, uv_g = project(p, k), project(g, k)
        err2d = np.linalg.norm(uv_p - uv_g, axis=-1).mean()
        rr = root_relative_epe(p[None], g[None])
        pa = freihand_scores(p[None], g[None])['pa_epe_mm']
        left = draw_skeleton_2d(
            img,
            uv_p,
            2,
            text=f'prediction\n2-D {err2d:.1f} px\n'
            f'RR {rr:.0f} PA {pa:.0f} mm',
            thickness=2)
        right = draw_skeleton_2d(
            img, uv_g, 2, text='ground truth', thickness=2)
        gap = np.full((left.shape[0], 4, 3), 255, np.uint8)
        tiles.append(np.concatenate([left, gap, right], axis=1))
    rows = []
    blank = np.full_like(tiles[0], 255)
    for r in range(0, len(tiles), cols):
        row = tiles[r:r + cols] + [blank] * (cols - len(tiles[r:r + cols]))
        sep = np.full((row[0].shape[0], 12, 3), 255, np.uint8)
        parts = []
        for t in row:
            parts += [t, sep]
        rows.append(np.concatenate(parts[:-1], axis=1))
        rows.append(np.full((12, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], axis=0)


def main(argv=None) -> int:
    args = parse_args(argv)
    import cv2
    from mmengine.config import Config
    from mmpose.apis import init_model
    from mmpose.registry import DATASETS

    from peclr_mm.weights import check_checkpoint_matches
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=args.device)
    check_checkpoint_matches(model, args.checkpoint)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    num = min(args.num, len(dataset))
    indices = np.linspace(0, len(dataset) - 1, num).round().astype(int)
    pred, gt, K, imgs = predict(model, dataset, indices)
    cv2.imwrite(args.out, grid(pred, gt, K, imgs, args.cols))
    print(f'predictions on {num} test images of {args.config} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
