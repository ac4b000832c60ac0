# Copyright (c) peclr_mm authors. All rights reserved.
"""3-D hand pose on your own images.

    python tools/infer.py CONFIG CHECKPOINT img1.jpg [img2.jpg ...] \
        --out-dir results [--K fx fy cx cy] [--bone-length 0.0335] \
        [--bbox x1 y1 x2 y2] [--recrop]

Writes ``NAME.json`` (3-D joints in metres, camera frame; 2-D joints in image
pixels; the camera and bone length used) and ``NAME.png`` (2-D skeleton over
the image and a 3-D view) per image. The 2.5-D representation is
scale-free: absolute depth and size follow from K and the bone length, so
for images whose camera is unknown the defaults are stated in the output.
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np

try:
    import peclr_mm  # noqa: F401
except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import peclr_mm  # noqa: F401

from peclr_mm.apis import default_intrinsics  # noqa
from peclr_mm.apis import DEFAULT_BONE_LENGTH, inference_hand3d
from peclr_mm.visualization import draw_hand3d  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='3-D hand pose on your own images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out-dir', default='infer_results')
    parser.add_argument(
        '--K',
        nargs=4,
        type=float,
        metavar=('FX', 'FY', 'CX', 'CY'),
        help='camera intrinsics in pixels (default: principal point at the '
        'image centre, focal 2.7 x the longer side, FreiHAND-like)')
    parser.add_argument(
        '--bone-length',
        type=float,
        default=DEFAULT_BONE_LENGTH,
        help='middle-finger MCP-PIP length in metres (sets the scale)')
    parser.add_argument(
        '--bbox',
        nargs=4,
        type=float,
        metavar=('X1', 'Y1', 'X2', 'Y2'),
        help='hand box (default: the whole image)')
    parser.add_argument(
        '--recrop',
        action='store_true',
        help='second pass on a crop around the first prediction')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import cv2
    from mmpose.apis import init_model
    model = init_model(args.config, args.checkpoint, device=args.device)
    os.makedirs(args.out_dir, exist_ok=True)
    for path in args.images:
        img = cv2.imread(path)
        if img is None:
            raise SystemExit(f'{path}: cannot be read as an image')
        h, w = img.shape[:2]
        if args.K is not None:
            fx, fy, cx, cy = args.K
            K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.]])
            k_note = 'given'
        else:
            K = default_intrinsics(w, h)
            k_note = ('assumed: principal point at the image centre, focal '
                      f'{K[0, 0]:.0f} px (2.7 x the longer side)')
        b_note = ('given' if args.bone_length != DEFAULT_BONE_LENGTH else
                  f'assumed: {DEFAULT_BONE_LENGTH} m (FreiHAND mean)')
        res = inference_hand3d(
            model,
            img,
            K=K,
            bone_length=args.bone_length,
            bbox=args.bbox,
            recrop=args.recrop)
        name = osp.splitext(osp.basename(path))[0]
        out = dict(
            image=osp.abspath(path),
            keypoints_3d_m=res['keypoints_3d'].round(6).tolist(),
            keypoints_2d_px=res['keypoints_2d'].round(2).tolist(),
            K=res['K'].tolist(),
            K_source=k_note,
            bone_length_m=res['bone_length'],
            bone_length_source=b_note,
            passes=res['passes'],
            units='keypoints_3d in metres, camera frame (x right, y down, '
            'z forward); keypoints_2d in image pixels')
        json_file = osp.join(args.out_dir, f'{name}.json')
        with open(json_file, 'w') as f:
            json.dump(out, f, indent=1)
        png_file = osp.join(args.out_dir, f'{name}.png')
        root_mm = res['keypoints_3d'][0] * 1000
        draw_hand3d(
            img,
            res['keypoints_2d'],
            res['keypoints_3d'],
            png_file,
            title=f'{name}: wrist at z = {root_mm[2]:.0f} mm '
            f'(K {"given" if args.K else "assumed"}, bone length '
            f'{res["bone_length"] * 1000:.1f} mm)')
        print(f'{path}: wrote {json_file} and {png_file}')
        print(f'  K {k_note}; bone length {b_note}')


if __name__ == '__main__':
    main()
