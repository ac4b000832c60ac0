# Copyright (c) peclr_mm authors. All rights reserved.
"""Export a 3-D hand model to ONNX: crop + crop intrinsics + bone length ->
camera-frame joints.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--batch-size 1] [--cfg-options ...]

The graph holds the normalisation, the backbone, the 2.5-D head, the
closed-form root depth and its refinement MLP, and the decoding
(``peclr_mm.apis.export.Hand3DExportModule``: inputs ``image`` (B, 3, H, W)
float 0-255 in the test pipeline's channel order, BGR for the shipped
configs; ``K_crop`` (B, 3, 3); ``bone_length`` (B,) metres; outputs
``keypoints_3d`` (B, 21, 3) metres and ``keypoints_2d`` (B, 21, 2) crop
pixels). The crop itself (and the released models' second pass) stays
outside: warp the image with the crop's ``warp_mat`` first. After export
the file is run with onnxruntime on a test input and compared with PyTorch;
the largest relative difference is printed (exit 1 above ``--rtol``).
"""
import argparse
import os.path as osp
import sys

import numpy as np

try:
    import peclr_mm  # noqa: F401
except ImportError:
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import peclr_mm  # noqa: F401


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--batch-size', type=int, default=1)
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
    input; return the relative differences of both outputs."""
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
    from peclr_mm.utils.checkpoint import check_checkpoint_matches
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    try:
        model = init_model(cfg, None, device='cpu')
        check_checkpoint_matches(model, args.checkpoint)
    except (ValueError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    model = init_model(cfg, args.checkpoint, device='cpu').eval()
    wrapper = export_onnx(model, args.out, args.batch_size)
    diffs = check_with_onnxruntime(args.out, wrapper, args.batch_size)
    print(f'wrote {args.out}; onnxruntime vs PyTorch, largest relative '
          f'difference: keypoints_3d {diffs[0]:.2e}, keypoints_2d '
          f'{diffs[1]:.2e}')
    if max(diffs) > args.rtol:
        print(f'error: above --rtol {args.rtol}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
