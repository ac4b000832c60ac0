# Copyright (c) peclr_mm authors. All rights reserved.
"""CPU latency of one image through the released-model graph: PyTorch
against onnxruntime, one thread each, measured in the same run.

    python tools/benchmarks/bench_onnx.py [--depth 50] [--rounds 7] \
        [--out docs/results/bench_onnx.json]

The model is the released-model config's (ResNet-50 or -152 at 224 px, the
2.5-D head, closed-form root and refinement) with seeded weights: latency
does not depend on the weights. Both run the same graph on the same crop
(``peclr_mm.apis.export.Hand3DExportModule``: normalisation, backbone,
head, decoding), one pass; the released configs' test path runs two.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile

os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--depth', type=int, default=50, choices=(18, 50, 152))
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--out', default=None, help='write the result json')
    parser.add_argument(
        '--quick', action='store_true', help='ResNet-18, one round (smoke)')
    args = parser.parse_args(argv)
    if args.quick:
        args.depth, args.rounds, args.reps = 18, 1, 1
    torch.set_num_threads(1)
    import onnxruntime as ort
    from mmengine.config import Config
    from mmpose.apis import init_model

    import peclr_mm  # noqa: F401
    from peclr_mm.apis.export import export_onnx
    from peclr_mm.utils.timing import time_interleaved
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'hand25d',
                 'hand25d_resnet50-peclr-released_freihand-224.py'))
    cfg.model.backbone.depth = args.depth
    cfg.model.head.in_channels = 512 if args.depth == 18 else 2048
    torch.manual_seed(0)
    model = init_model(cfg, None, device='cpu').eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        wrapper = export_onnx(model, path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(
            path, opts, providers=['CPUExecutionProvider'])
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (1, 3, 224, 224)).astype(np.float32)
    K = np.array([[[1200., 0., 112.], [0., 1200., 112.], [0., 0., 1.]]],
                 np.float32)
    bone = np.array([0.03], np.float32)
    feed = dict(image=image, K_crop=K, bone_length=bone)
    t_args = [torch.from_numpy(a) for a in (image, K, bone)]

    def run_torch():
        with torch.no_grad():
            return wrapper(*t_args)

    def run_ort():
        return sess.run(None, feed)

    times = time_interleaved([run_torch, run_ort], args.rounds, args.reps)
    med = [float(np.median(t)) * 1000 for t in times]
    result = dict(
        depth=args.depth,
        input='224 px, batch 1, one pass, 1 thread',
        torch_ms=med[0],
        onnxruntime_ms=med[1],
        ratio_ort_over_torch=med[1] / med[0],
        torch_version=torch.__version__,
        onnxruntime_version=ort.__version__,
        rounds=args.rounds,
        reps=args.reps)
    if args.out:
        from peclr_mm.utils.io import atomic_write_json
        atomic_write_json(args.out, result, indent=1)
    print(json.dumps(result, indent=1))
    print('==== bench_onnx summary')
    print(f'ResNet-{args.depth} at 224 px, one image, one thread: PyTorch '
          f'{med[0]:.1f} ms, onnxruntime {med[1]:.1f} ms (median of '
          f'{args.rounds} interleaved rounds)')
    print(f'ratio onnxruntime / PyTorch = {med[1] / med[0]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
