# Copyright (c) peclr_mm authors. All rights reserved.
"""Convert the PeCLR authors' released ResNet weights for mmpose's ResNet.

    python tools/convert_peclr_weights.py peclr_rn50_yt3dh_fh.pth \
        peclr_rn50_mmpose.pth --depth 50

Accepts the released pretrained encoders (plain torchvision state dicts), the
released fine-tuned ``RN_25D_wMLPref`` models (encoder under
``backend_model.``) and the pretraining code's Lightning checkpoints
(``encoder.features.N``); only the encoder is kept. The output is an
mmengine-style ``{'state_dict': ..., 'meta': ...}`` with keys under
``--prefix`` (default ``backbone.``), loaded by a config with
``backbone=dict(type='ResNet', depth=50, init_cfg=dict(type='Pretrained',
checkpoint=OUT, prefix='backbone.'))``. A checkpoint that is not a ResNet
of ``--depth`` is refused, naming the missing and unexpected keys.

Lightning ``.ckpt`` files pickle callback classes and hyper-parameters,
which ``weights_only=True`` refuses; they are read by
``peclr_mm.utils.checkpoint.load_state_dict_only``, which builds the
tensors and replaces every other pickled class by an inert placeholder, so
no code from the file runs.
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
from peclr_mm.utils.checkpoint import convert_released_resnet  # noqa: E402

IncompatibleWeightsError = weight_converters.IncompatibleWeightsError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released PeCLR checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint for mmpose')
    parser.add_argument(
        '--depth',
        type=int,
        required=True,
        choices=(18, 34, 50, 101, 152),
        help='ResNet depth of the checkpoint (50 or 152 for the release)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help='prefix of the output keys (default: backbone.); "" for none')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        n = convert_released_resnet(args.src, args.dst, args.depth,
                                    args.prefix)
    except (IncompatibleWeightsError, checkpoint.UnsafeCheckpointError,
            checkpoint.CorruptCheckpointError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    print(f'wrote {n} tensors of ResNet-{args.depth} to {args.dst} '
          f"(keys prefixed '{args.prefix}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
