# Copyright (c) peclr_mm authors. All rights reserved.
"""Fetch the PeCLR authors' released weights, ready for the configs.

    python tools/misc/download_released.py \
        hand25d_resnet50-peclr-released_freihand-224
    python tools/test.py \
        configs/hand25d/hand25d_resnet50-peclr-released_freihand-224.py \
        checkpoints/rn50_peclr_released.pth

SOURCE is a released config's or archive's name (``rn50_peclr_yt3d-fh_pt_
fh_ft``, ``peclr_rn50`` ...), an ``http(s)://`` address, or a local
``.tar.gz`` (what ``mim download`` fetches) or ``.pth``/``.ckpt``. The
archive is downloaded whole or not at all (a temporary file in the output
folder, renamed when its length, gzip stream and ``--sha256`` check out;
removed on any failure, Ctrl-C or SIGTERM), within ``--timeout`` seconds
for the whole download and ``--max-bytes``, following redirects to
http(s) addresses only; an archive refused at any later step is removed
too (``--keep-archive`` keeps an accepted one, with a ``.sha256`` record,
for the next run),
its checkpoint read without extracting the archive (a member path outside
the archive is refused), loaded without running its pickles, converted
(``peclr_mm.weights.converters``), loaded back with
``weights_only=True`` and compared key for key and shape for shape with the
config's model; only then is ``--out`` written (default
``checkpoints/NAME``), never over an existing file without
``--overwrite`` and never over the input. Exit code 0 on success, 1 on any
refusal (one line naming the address or file), 2 for bad arguments, 143
when terminated (SIGTERM; nothing partial is left).
"""
import argparse
import sys
from typing import List, Optional

import peclr_mm  # noqa: F401
from peclr_mm.weights import released
from peclr_mm.weights.download import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    names = ', '.join(r.name for r in released.RELEASES)
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=f'released archives: {names}; or the config names of '
        'configs/*/metafile.yml that have Weights')
    parser.add_argument(
        'source',
        help='released config or archive name, http(s) address, or local '
        '.tar.gz / .pth / .ckpt')
    parser.add_argument(
        '--out',
        help='output checkpoint, or a folder for the default name '
        '(default: checkpoints/)')
    parser.add_argument(
        '--sha256', help='expected SHA-256 of the archive or checkpoint')
    parser.add_argument(
        '--config',
        help='config to check the weights against (default: the one that '
        'loads them)')
    parser.add_argument(
        '--member', help='the checkpoint\'s path inside the archive')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing output file')
    parser.add_argument(
        '--keep-archive',
        action='store_true',
        help='keep the downloaded archive beside the output')
    parser.add_argument(
        '--timeout',
        type=float,
        default=DEFAULT_TIMEOUT,
        help='seconds the whole download may take (default: '
        f'{DEFAULT_TIMEOUT:g})')
    parser.add_argument(
        '--max-bytes',
        type=int,
        default=DEFAULT_MAX_BYTES,
        help='the largest download accepted (default: '
        f'{DEFAULT_MAX_BYTES} bytes, 2 GiB)')
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.max_bytes <= 0:
        parser.error('--timeout and --max-bytes must be positive')
    return args


class _Progress:
    """One line per tenth of a download, on stderr."""

    def __init__(self):
        self.shown = -1

    def __call__(self, received: int, total: Optional[int]) -> None:
        if not total:
            return
        tenth = received * 10 // total
        if tenth > self.shown:
            self.shown = tenth
            print(
                f'  {received / 2**20:.1f} of {total / 2**20:.1f} MiB',
                file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        out = released.fetch_released(
            args.source,
            out=args.out,
            sha256=args.sha256,
            config=args.config,
            member=args.member,
            overwrite=args.overwrite,
            keep_archive=args.keep_archive,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
            progress=_Progress())
    except (released.ReleaseError, OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    what = ('the whole fine-tuned model (ResNet-{depth}, 2.5-D output '
            'layer, root MLP)' if out['kind'] == 'model' else
            'the ResNet-{depth} encoder (keys backbone.*)').format(**out)
    print(f'{out["source"]} (sha256 {out["sha256"]}): {what}, '
          f'{out["num_tensors"]} tensors')
    if out['config'] is None:
        print(f'wrote {out["out"]}; no shipped config loads this depth, '
              'so it was not compared with a model')
        return 0
    print(f'wrote {out["out"]}, checked against {out["config"]}')
    if out['kind'] == 'model':
        print(f'  python tools/test.py {out["config"]} {out["out"]}')
    else:
        print(f'  python tools/train.py {out["config"]} --cfg-options '
              f'model.backbone.init_cfg.checkpoint={out["out"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
