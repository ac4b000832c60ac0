# Copyright (c) peclr_mm authors. All rights reserved.
"""Export the encoder of a PeCLR (or fine-tuned) checkpoint for any mmpose
config.

    python tools/export_backbone.py work_dirs/peclr/epoch_100.pth \
        peclr_resnet50_backbone.pth [--overwrite]

The output is ``{'state_dict': backbone weights, 'meta': ...}`` with the
``backbone.`` prefix removed, so ``init_cfg=dict(type='Pretrained',
checkpoint=OUT)`` on the backbone of any mmpose config loads it.

The output is never written over the input checkpoint, and an existing
file only with ``--overwrite``. Exit status: 0 written; 2 nothing written
(the input is missing, unreadable, unsafe to unpickle or holds no weights
under ``--prefix``, or the output is refused), with a one-line error.
"""
import argparse
import pickle
import sys

import peclr_mm  # noqa: F401
from peclr_mm.utils.io import check_output_path
from peclr_mm.weights.converters import export_backbone


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='pretraining or fine-tuning checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint')
    parser.add_argument('--prefix', default='backbone.')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing DST (never SRC itself)')
    args = parser.parse_args(argv)
    try:
        check_output_path(args.dst, [args.src], args.overwrite)
        n = export_backbone(args.src, args.dst, args.prefix)
    except (ValueError, OSError, pickle.UnpicklingError) as exc:
        # UnsafeCheckpointError is an UnpicklingError, CorruptCheckpoint a
        # ValueError; an error of torch's may span lines: keep the first
        print(f'error: {str(exc).splitlines()[0]}', file=sys.stderr)
        return 2
    print(f'wrote {n} tensors of {args.prefix!r} to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
