# Copyright (c) peclr_mm authors. All rights reserved.
"""Convert the PeCLR authors' released weights for peclr_mm.

    python tools/convert_peclr_weights.py rn50_peclr_yt3d-fh_pt_fh_ft.pth \
        rn50_peclr_released.pth
    python tools/convert_peclr_weights.py peclr_rn50_yt3dh_fh.pth \
        peclr_rn50_mmpose.pth [--overwrite]

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

A file that fits neither is refused, naming what is missing; so is a file
that is already in OpenMMLab's layout (keys under ``backbone.``, as
peclr_mm's own training and this tool write: it loads as it is, or
``tools/export_backbone.py`` takes its encoder) and a ResNet with fewer
than four stages (as the demo configs' two-stage ResNet-18). Lightning
``.ckpt`` files pickle callback classes and hyper-parameters, which
``weights_only=True`` refuses; only their tensors are read
(``peclr_mm.weights.inert.load_state_dict_only``), so no code from the
file runs.

The output is never written over the input, and an existing file only with
``--overwrite``. Exit status: 0 written; 2 nothing written (the input is
missing, unreadable or not one of the layouts above, or the output is
refused), with a one-line error.
"""
import argparse
import re
import sys
from typing import List, Mapping, Optional

import peclr_mm  # noqa: F401
from peclr_mm.utils.io import check_output_path
from peclr_mm.weights import converters, inert, loading

IncompatibleWeightsError = converters.IncompatibleWeightsError


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
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing DST (never SRC itself)')
    return parser.parse_args(argv)


EXPECTED = ('this tool expects one of the PeCLR authors\' released files: a '
            'fine-tuned RN_25D_wMLPref (backend_model.*, zroot_ref.*) or a '
            'whole pretrained ResNet-18/34/50/101/152 (torchvision conv1.*, '
            'layer1-4.*, or Lightning encoder.features.*)')


def check_release_layout(src: str, state_dict: Mapping) -> None:
    """Refuse weights that are no release of the authors: a checkpoint in
    OpenMMLab's layout (e.g. peclr_mm's own, whose ``backbone.`` keys the
    converter would otherwise take for an encoder to re-export) or a ResNet
    with fewer than four stages (no standard depth).

    Raises:
        IncompatibleWeightsError: naming ``src``, what it is and what the
            tool expects.
    """
    keys = [
        k[len('module.'):] if k.startswith('module.') else k
        for k in state_dict
    ]
    blocks = []  # per stage, under whatever prefix the encoder has
    for stage in range(1, 5):
        pattern = re.compile(rf'(?:^|\.)layer{stage}\.(\d+)\.')
        blocks.append(
            len({m.group(1)
                 for m in map(pattern.search, keys) if m}))
    truncated = ''
    if blocks[0] and not all(blocks):
        truncated = (f'a ResNet truncated to {sum(map(bool, blocks))} '
                     f'stage(s) ({blocks} blocks per stage)')
    top = sorted({k.split('.')[0] for k in keys})
    if 'backbone' in top:
        what = 'is already an OpenMMLab/peclr_mm checkpoint (weights under '
        what += ', '.join(f'{name}.*' for name in top[:6])
        what += f'; {truncated})' if truncated else ')'
        raise IncompatibleWeightsError(
            f'{src} {what}: use it as it is (a config\'s load_from or '
            "init_cfg=dict(type='Pretrained', prefix='backbone.')), or "
            f'tools/export_backbone.py for its encoder; {EXPECTED}')
    if truncated:
        raise IncompatibleWeightsError(f'{src} holds {truncated}; '
                                       f'{EXPECTED}')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        check_output_path(args.dst, [args.src], args.overwrite)
        check_release_layout(args.src, inert.load_state_dict_only(args.src))
        out = converters.convert_released_checkpoint(args.src, args.dst,
                                                     args.depth, args.prefix,
                                                     args.backbone_only)
    except (IncompatibleWeightsError, loading.UnsafeCheckpointError,
            loading.CorruptCheckpointError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if out['kind'] == 'model':
        print(f'wrote the whole fine-tuned model ({out["num_tensors"]} '
              f'tensors: ResNet-{out["depth"]}, 2.5-D output layer, root '
              f'MLP) to {args.dst}')
        if out['config']:
            print(f'load it with {out["config"]}, e.g.\n'
                  f'  python tools/test.py {out["config"]} {args.dst}')
        else:
            print(f'no released-model config has ResNet-{out["depth"]}: '
                  f'copy {converters.RELEASED_CONFIGS[50]} and set '
                  'the backbone depth and the head\'s in_channels')
    else:
        print(f'wrote {out["num_tensors"]} tensors of ResNet-{out["depth"]} '
              f"to {args.dst} (keys prefixed '{args.prefix}'), for a "
              "backbone init_cfg=dict(type='Pretrained', checkpoint=..., "
              f"prefix='{args.prefix}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
