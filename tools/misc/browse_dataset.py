# Copyright (c) peclr_mm authors. All rights reserved.
"""See what the model sees: the pipeline's output images with their targets.

    python tools/misc/browse_dataset.py CONFIG --output-dir DIR \
        [--phase train|val|test] [--num-samples 16] [--scale 4] [--seed 0] \
        [--cfg-options KEY=VALUE ...]

mmpose's ``browse_dataset.py`` for this project's pipelines. For every
sample it runs the config's whole pipeline and draws on the very tensor the
model receives:

- fine-tuning configs (``PackHand3DInputs``): the 2-D skeleton from the
  encoded targets ``keypoint_labels`` (``GenerateTarget``), or from the
  view's keypoints where the pipeline has no target step; the 2.5-D root
  projected through ``K_crop`` (white ring) and the reference bone (thick
  white). The caption gives ``z_root`` and the bone length. Where the
  targets disagree with the projection of the 3-D joints through ``K_crop``
  by more than 0.05 px, the tool says so and exits non-zero.
- pretraining configs (``PackPeCLRInputs``): the views side by side, each
  with the source keypoints moved by the view's recorded ``warp_mat`` and
  its ``theta``, ``s`` and ``shift`` as caption: the skeleton lands on the
  hand only if the recorded geometry is what the warp did.

A data set that cannot be read, or a sample whose image is missing,
corrupt, not a regular file or not the size its annotations expect, ends
the run with one line naming it (exit 1).

Writes ``{phase}_{index:05d}_{img_id}.jpg`` into ``--output-dir``; never
overwrites a file it did not write in the same run (it refuses a non-empty
folder unless ``--overwrite``, and then replaces only its own file names).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import peclr_mm  # noqa: F401
from peclr_mm.codecs.hand25d import root_weights
from peclr_mm.utils.affine import transform_points
from peclr_mm.utils.camera import project
from peclr_mm.visualization import draw_skeleton_2d


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the pipeline output and its targets')
    parser.add_argument('config')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument(
        '--phase', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--num-samples', type=int, default=16)
    parser.add_argument(
        '--scale',
        type=int,
        default=4,
        help='enlarge each view this many times (64 px views are small)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='write into a non-empty output folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _image(tensor) -> np.ndarray:
    """CHW uint8 tensor (the packed input, BGR as loaded) to HWC."""
    return np.ascontiguousarray(tensor.numpy().transpose(1, 2, 0))


def draw_hand3d_sample(packed: dict, scale: int, codec) -> tuple:
    """The fine-tuning view with its targets; returns (image, max error of
    the targets against the 3-D joints' projection in px)."""
    sample = packed['data_samples']
    meta = sample.metainfo
    img = _image(packed['inputs'])
    xyz = np.asarray(sample.gt_instances.keypoints_3d, np.float64)[0]
    proj = project(xyz, meta['K_crop'])
    labels = sample.get('gt_instance_labels')
    if labels is not None and 'keypoint_labels' in labels:
        uv = labels.keypoint_labels.numpy()[0].astype(np.float64)
        text = (f'targets  z_root {float(labels.z_root_labels[0]):.1f} b\n'
                f'b {1000 * meta["bone_length"]:.1f} mm')
    else:
        uv = np.asarray(sample.gt_instances.transformed_keypoints,
                        np.float64)[0]
        text = f'keypoints (no GenerateTarget)\nb ' \
            f'{1000 * meta["bone_length"]:.1f} mm'
    root = codec.root if codec is not None else 'palm'
    ref_bone = codec.ref_bone if codec is not None else (9, 10)
    w = root_weights(root).numpy()
    root_2d = project(w @ xyz, meta['K_crop'])
    drawn = draw_skeleton_2d(
        img, uv, scale, root_2d=root_2d, ref_bone=ref_bone, text=text)
    return drawn, float(np.abs(uv - proj).max())


def draw_peclr_sample(packed: dict, info: dict, scale: int) -> np.ndarray:
    """The views side by side, the source keypoints moved by each view's
    recorded warp."""
    meta = packed['data_samples'].metainfo
    panels = []
    for v, tensor in enumerate(packed['inputs']):
        img = _image(tensor)
        text = (f'view {v}: theta {meta["view_theta"][v]:+.0f}\n'
                f's {meta["view_s"][v]:.2f} shift '
                f'{meta["view_shift"][v][0]:+.2f} '
                f'{meta["view_shift"][v][1]:+.2f}')
        kpts = info.get('keypoints')
        if kpts is None:
            panel = cv2.resize(
                img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
            cv2.putText(panel, text.replace('\n', ' '), (3, 12),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
        else:
            uv = transform_points(
                np.asarray(kpts, np.float64).reshape(-1, 2),
                meta['view_warp_mat'][v])
            panel = draw_skeleton_2d(img, uv, scale, text=text)
        panels.append(panel)
    gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [gap, p]
    return np.concatenate(out, axis=1)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    from mmpose.registry import DATASETS, KEYPOINT_CODECS

    loader = cfg.get(f'{args.phase}_dataloader')
    if loader is None:
        raise SystemExit(
            f'error: {args.config} has no {args.phase}_dataloader')
    if osp.isdir(args.output_dir) and os.listdir(args.output_dir) and \
            not args.overwrite:
        raise SystemExit(f'error: {args.output_dir} is not empty (pass '
                         '--overwrite to write into it)')
    os.makedirs(args.output_dir, exist_ok=True)
    try:
        dataset = DATASETS.build(loader.dataset)
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f'error: {args.config}: the {args.phase} data set '
                         f'cannot be read: {exc}') from None
    codec = None
    head = cfg.get('model', {}).get('head')
    if head is not None and 'codec' in head:
        codec = KEYPOINT_CODECS.build(head.codec)

    rng = np.random.default_rng(args.seed)
    num = min(args.num_samples, len(dataset))
    indices = np.sort(rng.choice(len(dataset), num, replace=False))
    worst = 0.
    for n, idx in enumerate(indices):
        np.random.seed(args.seed + n)  # the pipeline's random draws
        try:
            packed = dataset[int(idx)]
        except (OSError, ValueError, KeyError) as exc:
            # one line naming the file (e.g. an image of another size)
            raise SystemExit(f'error: sample {int(idx)}: {exc}') from None
        info = dataset.get_data_info(int(idx))
        if isinstance(packed['inputs'], list):
            img = draw_peclr_sample(packed, info, args.scale)
        else:
            img, err = draw_hand3d_sample(packed, args.scale, codec)
            worst = max(worst, err)
        name = f'{args.phase}_{n:05d}_{info.get("img_id", idx)}.jpg'
        cv2.imwrite(osp.join(args.output_dir, name), img)
    print(f'{num} samples of {args.config} ({args.phase}) drawn into '
          f'{args.output_dir}')
    if worst > 0.05:
        print(f'error: targets differ from the projection of the 3-D joints '
              f'through K_crop by up to {worst:.3g} px')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
