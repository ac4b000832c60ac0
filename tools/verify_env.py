# Copyright (c) peclr_mm authors. All rights reserved.
"""Verify the installed stack: the imports that fail on a broken install,
and one compiled op from each of torchvision and mmcv.

Exit status 0 when everything works; prints the versions unless --quiet.
"""
import argparse
import importlib
import importlib.metadata
import sys
import warnings


def check() -> dict:
    warnings.filterwarnings('ignore')
    import numpy as np
    import torch
    import torchvision

    if int(np.__version__.split('.')[0]) >= 2:
        raise RuntimeError(f'NumPy {np.__version__} found; xtcocotools and '
                           'mmcv need NumPy < 2')
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    keep = torchvision.ops.nms(boxes, scores, 0.5)
    if keep.tolist() != [0, 2]:
        raise RuntimeError(f'torchvision.ops.nms returned {keep.tolist()}')

    import mmcv
    import mmcv.ops
    dets, keep = mmcv.ops.nms(boxes, scores, 0.5)
    if keep.tolist() != [0, 2]:
        raise RuntimeError(f'mmcv.ops.nms returned {keep.tolist()}')

    versions = dict(
        python=sys.version.split()[0],
        numpy=np.__version__,
        torch=torch.__version__,
        torchvision=torchvision.__version__,
        mmcv=mmcv.__version__)
    for name in ('mmengine', 'mmdet', 'mmpretrain', 'mmpose', 'mim'):
        importlib.import_module(name)
    for dist in ('mmengine', 'mmdet', 'mmpretrain', 'mmpose', 'openmim'):
        versions[dist] = importlib.metadata.version(dist)
    importlib.import_module('mmpose.models')
    importlib.import_module('mmpretrain.models')
    peclr_mm = importlib.import_module('peclr_mm')
    versions['peclr_mm'] = peclr_mm.__version__
    return versions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args()
    try:
        versions = check()
    except Exception as exc:  # report any failure as a failed install
        if not args.quiet:
            print(
                f'verify_env: FAILED: {type(exc).__name__}: {exc}',
                file=sys.stderr)
        return 1
    if not args.quiet:
        print('verify_env: OK ' + ' '.join(f'{k}={v}'
                                           for k, v in versions.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
