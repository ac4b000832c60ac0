# Copyright (c) peclr_mm authors. All rights reserved.
"""Train (pretrain or fine-tune) with a stock mmengine runner.

The command line is mmpose's ``tools/train.py``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import peclr_mm  # noqa: F401 (registers modules and the safe loader)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a peclr_mm model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic mixed precision training (GPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def use_amp(cfg) -> None:
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in (OptimWrapper, AmpOptimWrapper, 'OptimWrapper',
                       'AmpOptimWrapper'):
        raise ValueError('--amp supports OptimWrapper only, the config '
                         f'uses {wrapper}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def merge_args(cfg, args):
    """Merge CLI arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    # DDP on CPU-only machines takes no device ids
    from peclr_mm.engine import cpu_model_wrapper_cfg
    cpu_model_wrapper_cfg(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    import torch
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a GPU; none is available')
        use_amp(cfg)
    elif cfg.get('amp_on_gpu', False) and torch.cuda.is_available():
        # The paper's recipes train in mixed precision where a GPU exists.
        use_amp(cfg)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    from peclr_mm.weights.checkpoint_safety import (WorkDirBusyError,
                                                    WorkDirLock)
    lock = None
    if int(os.environ.get('RANK', '0')) == 0:  # one holder per run
        try:
            lock = WorkDirLock(cfg.work_dir,
                               f'tools/train.py {args.config}').acquire()
        except WorkDirBusyError as exc:
            raise SystemExit(f'error: {exc}') from None
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        if lock is not None:
            lock.release()


if __name__ == '__main__':
    main()
