# Copyright (c) peclr_mm authors. All rights reserved.
"""Convert the PeCLR authors' released weights for peclr_mm.

    python tools/convert_peclr_weights.py rn50_peclr_yt3d-fh_pt_fh_ft.pth \
        rn50_peclr_released.pth
    python tools/convert_peclr_weights.py peclr_rn50_yt3dh_fh.pth \
        peclr_rn50_mmpose.pth

The layout is recognised by its keys, the ResNet depth included (``--depth``
only checks it):

- a fine-tuned ``RN_25D_wMLPref`` (``backend_model.*`` + ``zroot_ref.*``)
  gives the whole model (backbone, the 2.5-D output layer, the root-depth
  MLP; joints reordered into FreiHAND's order) for
  ``configs/hand25d/hand25d_resnet{50,152}-peclr-released_freihand-224.py``,
  which the tool names; ``--backbone-only`` keeps only its encoder;
- a pretrained encoder (a plain torchvision state dict, or the pretraining
  code's Lightning ``encoder.features.N`` checkpoint) gives a backbone
  checkpoint with keys under ``--prefix`` (default ``backbone.``), loaded by
  ``backbone=dict(type='ResNet', depth=50, init_cfg=dict(type='Pretrained',
  checkpoint=OUT, prefix='backbone.'))``.

A file that fits neither is refused, naming what is missing. Lightning
``.ckpt`` files pickle callback classes and hyper-parameters, which
``weights_only=True`` refuses; only their tensors are read
(``peclr_mm.utils.checkpoint.load_state_dict_only``), so no code from the
file runs.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

try:
    import peclr_mm  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import peclr_mm  # noqa: F401

from peclr_mm.models.utils import weight_converters  # noqa: E402
from peclr_mm.utils import checkpoint  # noqa: E402

IncompatibleWeightsError = weight_converters.IncompatibleWeightsError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released PeCLR checkpoint (.pth/.ckpt)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--depth',
        type=int,
        choices=(18, 34, 50, 101, 152),
        help='expected ResNet depth (checked; found from the keys anyway)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help='prefix of a backbone checkpoint\'s keys (default: backbone.); '
        '"" for none')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='of a fine-tuned model, keep only the encoder')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        out = weight_converters.convert_released_checkpoint(
            args.src, args.dst, args.depth, args.prefix, args.backbone_only)
    except (IncompatibleWeightsError, checkpoint.UnsafeCheckpointError,
            checkpoint.CorruptCheckpointError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    if out['kind'] == 'model':
        print(f'wrote the whole fine-tuned model ({out["num_tensors"]} '
              f'tensors: ResNet-{out["depth"]}, 2.5-D output layer, root '
              f'MLP) to {args.dst}')
        if out['config']:
            print(f'load it with {out["config"]}, e.g.\n'
                  f'  python tools/test.py {out["config"]} {args.dst}')
        else:
            print(f'no released-model config has ResNet-{out["depth"]}: '
                  f'copy {weight_converters.RELEASED_CONFIGS[50]} and set '
                  'the backbone depth and the head\'s in_channels')
    else:
        print(f'wrote {out["num_tensors"]} tensors of ResNet-{out["depth"]} '
              f"to {args.dst} (keys prefixed '{args.prefix}'), for a "
              "backbone init_cfg=dict(type='Pretrained', checkpoint=..., "
              f"prefix='{args.prefix}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
