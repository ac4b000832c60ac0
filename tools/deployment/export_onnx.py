# Copyright (c) peclr_mm authors. All rights reserved.
"""Export a 3-D hand model to ONNX: crop + crop intrinsics + bone length ->
camera-frame joints.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--overwrite] [--cfg-options ...]

The graph holds the normalisation, the backbone, the 2.5-D head, the
closed-form root depth and its refinement MLP, and the decoding
(``peclr_mm.apis.export.Hand3DExportModule``); the batch axis B is dynamic.
After export the file is run with onnxruntime at batch 1 and batch 3 and
compared with PyTorch; the largest relative difference is printed.

Preprocessing, all outside the graph except the normalisation (written
into the file's metadata_props as ``peclr_mm.*``; docs/deployment.md):

- crop: the config's test crop rule (``peclr_mm.crop_rule``, e.g. the
  hand's box made square and padded), warped to the config's input size
  W x H with the crop's 2x3 ``warp_mat`` (bilinear, border 0); a left
  hand mirrored into a right one; the released configs' second pass
  (crop again on the first pass's keypoints) is a second run;
- ``image``: float32 (B, 3, H, W), channels BGR (as cv2.imread gives
  them), values 0-255, not normalised (the graph flips to RGB where the
  config does and applies its mean and std);
- ``K_crop`` (B, 3, 3): ``[warp_mat; 0 0 1] @ K``; ``bone_length`` (B,)
  metres (bone 9-10; 0.0335 when unknown);
- outputs ``keypoints_3d`` (B, 21, 3) metres, camera frame, FreiHAND order,
  and ``keypoints_2d`` (B, 21, 2) crop pixels.

OUT is never written over CONFIG or CHECKPOINT, and over an existing file
only with ``--overwrite``. Exit status: 0 written and checked; 1 written,
but onnxruntime differs from PyTorch by more than ``--rtol``; 2 nothing
written (a bad config or checkpoint, unsafe or not matching the model, or
OUT refused), with a one-line error.
"""
import argparse
import pickle
import sys

import numpy as np

import peclr_mm  # noqa: F401


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='\n\n'.join(__doc__.split('\n\n')[3:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing OUT (never CONFIG or CHECKPOINT)')
    parser.add_argument(
        '--rtol',
        type=float,
        default=1e-4,
        help='largest relative difference onnxruntime vs PyTorch accepted')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b|: relative to the output's scale."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def check_with_onnxruntime(path: str, wrapper, batch_size: int, seed: int = 0):
    """Run the file with onnxruntime (one thread) and PyTorch on the same
    input of ``batch_size``; return the relative differences of both
    outputs."""
    import onnxruntime as ort
    import torch
    w, h = wrapper.model.head.codec.input_size
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 255, (batch_size, 3, h, w)).astype(np.float32)
    f = rng.uniform(0.8, 1.2, batch_size) * 2.5 * w
    K = np.zeros((batch_size, 3, 3), np.float32)
    K[:, 0, 0], K[:, 1, 1] = f, f
    K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = w / 2, h / 2, 1
    bone = rng.uniform(0.025, 0.04, batch_size).astype(np.float32)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    got = sess.run(None, dict(image=image, K_crop=K, bone_length=bone))
    with torch.no_grad():
        want = [
            t.numpy() for t in wrapper(
                torch.from_numpy(image), torch.from_numpy(K),
                torch.from_numpy(bone))
        ]
    return [relative_difference(g, r) for g, r in zip(got, want)]


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmpose.apis import init_model

    from peclr_mm.apis.export import export_onnx
    from peclr_mm.utils.io import check_output_path
    from peclr_mm.weights import check_checkpoint_matches
    try:
        check_output_path(args.out, [args.config, args.checkpoint],
                          args.overwrite)
        cfg = Config.fromfile(args.config)
        cfg.merge_from_dict(args.cfg_options)
        model = init_model(cfg, None, device='cpu')
        check_checkpoint_matches(model, args.checkpoint)
    except (ValueError, OSError, pickle.UnpicklingError) as exc:
        # UnsafeCheckpointError is an UnpicklingError
        print(f'error: {exc}', file=sys.stderr)
        return 2
    model = init_model(cfg, args.checkpoint, device='cpu').eval()
    wrapper = export_onnx(model, args.out)
    diffs = [0., 0.]
    for batch in (1, 3):  # the batch axis is dynamic: two sizes
        diffs = np.maximum(
            diffs, check_with_onnxruntime(args.out, wrapper, batch, batch))
    print(f'wrote {args.out} (dynamic batch); onnxruntime vs PyTorch at '
          'batch 1 and 3, largest relative difference: keypoints_3d '
          f'{diffs[0]:.2e}, keypoints_2d {diffs[1]:.2e}')
    if max(diffs) > args.rtol:
        print(f'error: above --rtol {args.rtol}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
