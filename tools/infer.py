# Copyright (c) peclr_mm authors. All rights reserved.
"""3-D hand pose on your own images.

    python tools/infer.py CONFIG CHECKPOINT img1.jpg [img2.jpg ...] \
        --out-dir results [--K fx fy cx cy] [--bone-length 0.0335] \
        [--bbox x1 y1 x2 y2] [--recrop] [--hand left|right]

Writes ``NAME_hand3d.json`` (3-D joints in metres, camera frame; 2-D joints
in image pixels; the camera and bone length used) and ``NAME_hand3d.png``
(2-D skeleton over the image and a 3-D view) per image; inputs that share a
name get ``NAME_N`` (N their position in the list). Files this tool did not
write are never overwritten. An image that cannot be read is reported and
the others go on; the exit code is then 1 (2 for a bad checkpoint, K or
bone length). The 2.5-D representation is
scale-free: absolute depth and size follow from K and the bone length, so
for images whose camera is unknown the defaults are stated in the output
(the released PeCLR configs: the authors' default intrinsics of the first
224 px crop; other configs: principal point at the centre, focal 2.7 x the
longer side). The models are trained on right hands: ``--hand left``
mirrors the image, predicts, and mirrors the joints back.
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

from peclr_mm.apis import DEFAULT_BONE_LENGTH, inference_hand3d  # noqa
from peclr_mm.utils.io import atomic_write_json  # noqa: E402
from peclr_mm.visualization import draw_hand3d  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='3-D hand pose on your own images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        'images', nargs='+', help='image files or folders of images')
    parser.add_argument('--out-dir', default='infer_results')
    parser.add_argument(
        '--K',
        nargs=4,
        type=float,
        metavar=('FX', 'FY', 'CX', 'CY'),
        help='camera intrinsics in pixels (default: the config\'s; the '
        'released models: their default K of the first crop; else the '
        'principal point at the image centre, focal 2.7 x the longer side)')
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
        default=None,
        help='second pass on a crop around the first prediction (the '
        'released-model configs always do it)')
    parser.add_argument(
        '--hand',
        choices=('right', 'left'),
        default='right',
        help='which hand the images show (left: mirrored, predicted, '
        'mirrored back)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


#: Written into every result json, so a later run knows the files are ours.
WRITTEN_BY = 'peclr_mm tools/infer.py'


def output_names(paths):
    """One output stem per input: the file's stem, or ``STEM_N`` (N its
    position in the list, from 1) where two inputs share a stem."""
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    return [
        f'{stem}_{i + 1}' if stems.count(stem) > 1 else stem
        for i, stem in enumerate(stems)
    ]


def _ours(json_file: str) -> bool:
    try:
        with open(json_file) as f:
            return json.load(f).get('written_by') == WRITTEN_BY
    except (OSError, ValueError, AttributeError):
        return False


def check_outputs(json_file: str, png_file: str, inputs) -> None:
    """Refuse to write over an input image or over files this tool did not
    write (a result pair is ours when its json says so)."""
    real_inputs = {osp.realpath(p) for p in inputs}
    for out in (json_file, png_file):
        if osp.realpath(out) in real_inputs:
            raise FileExistsError(f'{out} is one of the input images')
    ours = _ours(json_file)  # False when there is none
    for out in (json_file, png_file):
        if osp.lexists(out) and not ours:
            raise FileExistsError(f'{out} exists and was not written by '
                                  'tools/infer.py; choose another --out-dir')


def main(argv=None):
    args = parse_args(argv)
    import cv2
    from mmpose.apis import init_model

    from peclr_mm.apis import check_bbox, check_intrinsics
    from peclr_mm.utils.checkpoint import check_checkpoint_matches
    K_given = None
    try:
        if args.K is not None:
            fx, fy, cx, cy = args.K
            K_given = check_intrinsics([[fx, 0, cx], [0, fy, cy], [0, 0, 1.]],
                                       name='--K')
        if not (np.isfinite(args.bone_length) and args.bone_length > 0):
            raise ValueError('--bone-length must be a positive number of '
                             f'metres, got {args.bone_length}')
        if args.bbox is not None:
            check_bbox(args.bbox, name='--bbox')
        images = expand_inputs(args.images)
        # a checkpoint of another model would load with warnings and draw
        # random weights' guesses
        model = init_model(args.config, None, device=args.device)
        check_checkpoint_matches(model, args.checkpoint)
    except (ValueError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    model = init_model(args.config, args.checkpoint, device=args.device)
    os.makedirs(args.out_dir, exist_ok=True)
    failed = []
    for path, name in zip(images, output_names(images)):
        json_file = osp.join(args.out_dir, f'{name}_hand3d.json')
        png_file = osp.join(args.out_dir, f'{name}_hand3d.png')
        try:
            check_outputs(json_file, png_file, images)
            res = predict(model, path, args, K_given)
        except (OSError, ValueError) as exc:
            print(f'error: {exc}', file=sys.stderr)
            failed.append(path)
            continue
        write_result(path, name, cv2.imread(path), res, json_file, png_file,
                     args)
    if failed:
        print(
            f'{len(failed)} of {len(images)} image(s) failed: ' +
            ', '.join(failed),
            file=sys.stderr)
        return 1
    return 0


#: What a directory argument is expanded to.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def expand_inputs(paths):
    """The image arguments with each directory replaced by the images
    directly inside it (sorted, by extension); an empty directory is
    refused by name."""
    out = []
    for path in paths:
        if not osp.isdir(path):
            out.append(path)
            continue
        found = sorted(
            osp.join(path, n) for n in os.listdir(path)
            if n.lower().endswith(IMAGE_EXTENSIONS)
            and osp.isfile(osp.join(path, n)))
        if not found:
            raise ValueError(f'{path} is a directory with no images '
                             f'({", ".join(IMAGE_EXTENSIONS)}) in it')
        out += found
    return out


def predict(model, path, args, K_given):
    return inference_hand3d(
        model,
        path,
        K=K_given,
        bone_length=args.bone_length,
        bbox=args.bbox,
        recrop=args.recrop,
        hand=args.hand)


def write_result(path, name, img, res, json_file, png_file, args):
    b_note = ('given' if args.bone_length != DEFAULT_BONE_LENGTH else
              f'assumed: {DEFAULT_BONE_LENGTH} m (FreiHAND mean)')
    out = dict(
        written_by=WRITTEN_BY,
        image=osp.abspath(path),
        keypoints_3d_m=res['keypoints_3d'].round(6).tolist(),
        keypoints_2d_px=res['keypoints_2d'].round(2).tolist(),
        K=res['K'].tolist(),
        K_source=res['K_source'],
        bone_length_m=res['bone_length'],
        bone_length_source=b_note,
        passes=res['passes'],
        hand=res['hand'],
        units='keypoints_3d in metres, camera frame (x right, y down, '
        'z forward); keypoints_2d in image pixels')

    atomic_write_json(json_file, out, indent=1)
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
    print(f'  K {res["K_source"]}; bone length {b_note}')


if __name__ == '__main__':
    sys.exit(main())
