# Copyright (c) peclr_mm authors. All rights reserved.
"""Test (and evaluate) a checkpoint with a stock mmengine runner.

The command line is mmpose's ``tools/test.py``; ``mim test peclr_mm CONFIG
--checkpoint CKPT`` runs this script.
"""
import argparse
import os
import os.path as osp

import mmengine
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

import peclr_mm  # noqa: F401 (registers modules and the safe loader)
from peclr_mm.weights import check_checkpoint_matches


def parse_args():
    parser = argparse.ArgumentParser(
        description='peclr_mm test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save evaluation results')
    parser.add_argument('--out', help='save the metrics to this json file')
    parser.add_argument(
        '--show-dir',
        help='draw the predictions (2-D skeleton over the image beside the '
        'ground truth, and the 3-D skeleton against it) into this folder, '
        'under {work_dir}/{timestamp}/ when relative')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='with --show-dir/--show: draw one sample in INTERVAL')
    parser.add_argument(
        '--show', action='store_true', help='show the pictures in a window')
    parser.add_argument(
        '--wait-time', type=float, default=1, help='seconds a picture stays')
    parser.add_argument(
        '--dump',
        help='dump the predictions (data samples) to this pickle file, as '
        'mmpose\'s --dump')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
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


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    # DDP on CPU-only machines takes no device ids
    from peclr_mm.engine import cpu_model_wrapper_cfg
    cpu_model_wrapper_cfg(cfg)
    cfg.load_from = args.checkpoint
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.show or args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None or vis.get('type') != 'Hand3dVisualizationHook':
            raise ValueError(
                f'{args.config}: --show/--show-dir need default_hooks.'
                "visualization = dict(type='Hand3dVisualizationHook'), got "
                f'{vis}')
        vis.update(
            enable=True,
            show=args.show,
            wait_time=args.wait_time,
            out_dir=args.show_dir,
            interval=args.interval)
    if args.dump:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump {args.dump}: the file must end with '
                             '.pkl or .pickle')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        ev = cfg.test_evaluator
        cfg.test_evaluator = [*ev, dump] if isinstance(
            ev, (list, tuple)) else [ev, dump]
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg)
    # A checkpoint of another model would otherwise load with warnings and
    # evaluate random weights.
    check_checkpoint_matches(runner.model, args.checkpoint)
    if args.out:

        class SaveMetricHook(Hook):

            def after_test_epoch(self, _, metrics=None):
                if metrics is not None:
                    mmengine.dump(metrics, args.out)

        runner.register_hook(SaveMetricHook(), 'LOWEST')
    metrics = runner.test()
    # The headline numbers, whatever the config's log level.
    shown = {
        k: v
        for k, v in (metrics or {}).items() if '_j' not in k.rsplit('/', 1)[-1]
    }
    print('test: ' +
          '  '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                    for k, v in shown.items()))


if __name__ == '__main__':
    main()
