# Copyright (c) peclr_mm authors. All rights reserved.
"""A model on real photographs, beside the set's own mean pose and
MediaPipe Hands.

    python tools/analysis/real_photo_scores.py DATA_ROOT \
        [--config CFG --checkpoint CKPT] [--split evaluation] \
        [--no-mediapipe] [--out scores.json [--overwrite]] \
        [--cfg-options ...]

DATA_ROOT is a FreiHAND-layout set whose training split gives the
mean-pose reference, e.g. the real-world test set converted by
``tools/dataset_converters/real_world_testset.py`` (both splits hold the
same photos, so the reference is the set's own mean pose). Prints one row
per score, with each column's ratio to the mean pose:

- the model (with ``--config`` and ``--checkpoint``): the config's test
  pipeline and ``FreiHand3DMetric`` on ``DATA_ROOT``'s split, as
  ``tools/test.py CFG CKPT --cfg-options test_dataloader.dataset.data_root=
  DATA_ROOT test_evaluator.mean_pose.data_root=DATA_ROOT`` scores it (the
  crop of the ground truth's box, as the config tests);
- the mean pose (``peclr_mm.evaluation.mean_pose``): EPE-2D at the mean
  image position, EPE-2D-in-box in each hand's box, RR-EPE and PA-EPE;
- MediaPipe Hands (static images, on the whole photo): EPE-2D of its 21
  landmarks and PA-EPE of its world landmarks (Procrustes-aligned as the
  FreiHAND scoring does), over the photos where it finds a hand.

The model's and MediaPipe's EPE-2D are compared with both 2-D references:
the mean image position (a detector's floor) and the mean pose in the box
(the floor of a model shown the hand's box). ``--out`` writes the scores
as JSON marked ``"written_by": "tools/analysis/real_photo_scores.py"``;
it never writes over a file that is not such an output (the data root's
``evaluation_xyz.json``, the config, the checkpoint ...), and over its own
earlier output only with ``--overwrite``. Exit codes: 0 scored, 2 bad
input or a refused ``--out`` (one line).
"""
import argparse
import os.path as osp
import sys
import tempfile
from typing import Dict, Optional

import numpy as np
from mmengine.config import DictAction

from peclr_mm.evaluation import (freihand_scores, load_mean_pose,
                                 mean_pose_scores)
from tools.analysis.realism import jsonable, load_split, measure, split_files

#: The first entry of the JSON ``--out`` writes: what marks the files this
#: tool may write over (with ``--overwrite``).
WRITTEN_BY = 'tools/analysis/real_photo_scores.py'

#: (row label, the score's key, the mean pose's key it is compared with).
ROWS = (('EPE-2D (px)', 'EPE-2D', 'EPE-2D'), ('EPE-2D vs mean in box (px)',
                                              'EPE-2D', 'EPE-2D-in-box'),
        ('RR-EPE (mm)', 'RR-EPE', 'RR-EPE'), ('PA-EPE (mm)', 'PA-EPE',
                                              'PA-EPE'))


def mediapipe_scores(result: dict) -> Dict[str, float]:
    """EPE-2D (px) and PA-EPE (mm) of MediaPipe's most confident hand
    over the photos where it found one, from :func:`realism.measure`'s
    result (``detector`` records with ``keypoints_world``)."""
    found = [(i, r) for i, r in zip(result['indices'], result['records'])
             if r['detected']]
    out = dict(
        num=len(result['records']),
        num_detected=len(found),
        ms_per_image=result['summary']['ms_per_image'])
    if not found:
        return out
    out['EPE-2D'] = float(np.mean([r['epe_2d_px'] for _, r in found]))
    world = [(i, r['keypoints_world']) for i, r in found
             if r.get('keypoints_world') is not None]
    if world:
        idx = np.array([i for i, _ in world])
        out['PA-EPE'] = freihand_scores(
            np.stack([w for _, w in world]),
            result['data']['xyz'][idx])['pa_epe_mm']
    return out


def model_scores(config: str,
                 checkpoint: str,
                 data_root: str,
                 split: str = 'evaluation',
                 cfg_options: Optional[dict] = None,
                 work_dir: Optional[str] = None) -> Dict[str, float]:
    """The config's test on ``data_root``'s split with the training
    split's mean pose (``FreiHand3DMetric``'s names, without the
    ``freihand/`` prefix)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from peclr_mm.engine import cpu_model_wrapper_cfg
    from peclr_mm.weights import check_checkpoint_matches
    cfg = Config.fromfile(config)
    ev = cfg.test_evaluator
    if not isinstance(ev, dict) or ev.get('type') != 'FreiHand3DMetric':
        raise ValueError(f'{config}: test_evaluator must be one '
                         f'FreiHand3DMetric, got {ev}')
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.split = split
    ev.mean_pose = dict(data_root=data_root)
    cfg.load_from = checkpoint
    cfg.launcher = 'none'
    cpu_model_wrapper_cfg(cfg)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = work_dir or tmp
        cfg.visualizer['name'] = f'visualizer:{cfg.work_dir}'
        runner = Runner.from_cfg(cfg)
        check_checkpoint_matches(runner.model, checkpoint)
        metrics = runner.test()
    return {
        k.split('/', 1)[1]: v
        for k, v in metrics.items() if k.startswith('freihand/')
    }


def score_table(model: Optional[dict], mean: dict,
                mediapipe: Optional[dict]) -> str:
    """The rows :data:`ROWS` as a Markdown table: model | mean pose |
    MediaPipe, each with its ratio to the row's mean-pose score."""

    def cell(scores, key, ref):
        if scores is None or key not in scores:
            return '-'
        return f'{scores[key]:.1f} (x{scores[key] / mean[ref]:.2f})'

    mp = 'MediaPipe'
    if mediapipe is not None:
        mp += f' ({mediapipe["num_detected"]}/{mediapipe["num"]} found)'
    lines = [f'| score | model | mean pose | {mp} |', '|---|---|---|---|']
    for label, key, ref in ROWS:
        lines.append(f'| {label} | {cell(model, key, ref)} | '
                     f'{mean[ref]:.1f} | {cell(mediapipe, key, ref)} |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='a FreiHAND-layout data root')
    parser.add_argument('--config', help='the model\'s config')
    parser.add_argument('--checkpoint', help='the model\'s checkpoint')
    parser.add_argument(
        '--split', choices=('evaluation', 'training'), default='evaluation')
    parser.add_argument(
        '--no-mediapipe', action='store_true', help='skip MediaPipe')
    parser.add_argument('--min-detection-confidence', type=float, default=0.5)
    parser.add_argument('--out', help='write the scores here as JSON')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an earlier --out of this tool (never another file)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if (args.config is None) != (args.checkpoint is None):
        parser.error('--config and --checkpoint go together')
    return args


def _check_out(args) -> None:
    from peclr_mm.utils.io import check_output_path
    inputs = split_files(args.data_root, args.split) + split_files(
        args.data_root, 'training') + [args.config, args.checkpoint]
    check_output_path(args.out, inputs, args.overwrite, WRITTEN_BY)


def main(argv=None, detector=None) -> int:
    args = parse_args(argv)
    try:
        if args.out:  # before the scoring, and again before writing
            _check_out(args)
        data = load_split(args.data_root, args.split)
        mean = mean_pose_scores(
            load_mean_pose(args.data_root), data['xyz'], data['K'])
        mediapipe = None
        if not args.no_mediapipe:
            mediapipe = mediapipe_scores(
                measure(
                    args.data_root,
                    args.split,
                    None,
                    detector=detector,
                    min_detection_confidence=args.min_detection_confidence))
        model = None
        if args.config:
            model = model_scores(args.config, args.checkpoint, args.data_root,
                                 args.split, args.cfg_options)
        print(f'{args.data_root} {args.split}: {len(data["xyz"])} hands; '
              'mean pose of its training split; (xR) = ratio to the mean '
              'pose')
        print(score_table(model, mean, mediapipe))
        if mediapipe is not None:
            print(f'MediaPipe: {mediapipe["ms_per_image"]:.1f} ms per image')
        if args.out:
            _check_out(args)
            _write(args, model, mean, mediapipe)
    except (OSError, ValueError, ImportError, KeyError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0


def _write(args, model, mean, mediapipe) -> None:
    from peclr_mm.utils.io import atomic_write_json
    atomic_write_json(
        args.out,
        jsonable(
            dict(
                written_by=WRITTEN_BY,
                data_root=osp.abspath(args.data_root),
                split=args.split,
                config=args.config,
                checkpoint=args.checkpoint,
                model=model,
                mean_pose=mean,
                mediapipe=mediapipe)),
        indent=1)
    print(f'written to {args.out}')


if __name__ == '__main__':
    sys.exit(main())
