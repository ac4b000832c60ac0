# Copyright (c) peclr_mm authors. All rights reserved.
"""3-D hand pose on your own photographs, folders, videos and a webcam.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] \\
        [--out-dir infer_results] [--detector mediapipe|none] \\
        [--det-config DET_CFG --det-checkpoint DET_CKPT] \\
        [--bbox x1 y1 x2 y2 | --bbox boxes.json] [--hand left|right] \\
        [--K fx fy cx cy] [--bone-length 0.0335] [--recrop] [--no-vis] \\
        [--threads 1]

CONFIG is a fine-tuned hand config (a file or a config name). Every hand in
every image or video frame is found by MediaPipe Hands (which also tells
left from right), cropped by the config's crop rule, mirrored when it is a
left hand, and lifted to 3-D. Writes ``predictions/NAME.json`` (mmpose's
results layout: ``meta_info`` and, per image or frame, ``instances`` with
2-D joints in image pixels, 3-D joints in metres in the camera frame, the
box, handedness, a confidence and where each came from),
``visualizations/NAME.jpg`` and a 3-D view in ``visualizations/3d/``
(``visualizations/NAME.mp4`` for a video, one frame per input frame).
Inputs that share a file name, or that would replace an earlier run's
results of another file of that name, get a suffix from their path (said
on stdout). Files this tool did not write are never overwritten.

Confidence: ``score`` (per hand) and ``keypoint_scores`` (per joint), in
[0, 1], say how well the model's 2-D joints agree with MediaPipe's own
landmarks (1: the same; 0.61: a tenth of the box apart); keep hands with
``score`` >= 0.5 for trustworthy 2-D. ``handedness_score`` is MediaPipe's
confidence in left/right only. Without MediaPipe (``--detector none``,
``--bbox``, an mmdet detector) there is no confidence (null).

The 2.5-D representation is scale-free: bone 9-10 of ``keypoints_3d`` is
exactly ``--bone-length``, and depth follows from it, the hand's size in the
image and the focal length: ``--K`` (``K_source`` "given"), else the photo's
EXIF 35 mm focal ("exif"), else a phone or webcam camera, 0.85 x the longer
side ("assumed": depth is then a guess and is not drawn). At most
``--max-hands`` hands per image are predicted (the most confident; a note
says when more were found). Exit codes: 0 all inputs done (notes, e.g. a
hand that left a video's frame, do not count as failures), 1 some inputs
failed (reported, the others done), 2 nothing done (bad arguments, config,
checkpoint, out-dir, or every input failed), 130 interrupted (results so
far written, videos marked incomplete).
"""
import argparse
import os.path as osp
import sys
import time

# nothing heavy at import: --help must answer at once (torch, mmpose and
# peclr_mm are imported in main)

#: How many inputs' hands are described on stdout.
SHOWN = 5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[2],
        epilog='\n\n'.join(__doc__.split('\n\n')[3:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'config', help='fine-tuned hand config (file or '
        'config name)')
    parser.add_argument('checkpoint', help='its weights (path or address)')
    parser.add_argument(
        'inputs',
        nargs='+',
        help='images, folders of images, videos, or webcam[:N]')
    parser.add_argument('--out-dir', default='infer_results')
    parser.add_argument(
        '--detector',
        choices=('mediapipe', 'none'),
        default='mediapipe',
        help='hand detector (none: each image is one hand-centred crop, '
        'like FreiHAND)')
    parser.add_argument(
        '--det-landmarks',
        choices=('lite', 'full'),
        default='lite',
        help='MediaPipe\'s landmark model: lite (default; measured on the '
        'real test set: as many hands found and the confidence ranks them '
        'as well, 30 %% faster) or full')
    parser.add_argument(
        '--det-config', help='an mmdet config: its boxes replace MediaPipe')
    parser.add_argument('--det-checkpoint', help='the mmdet weights')
    parser.add_argument(
        '--det-cat-ids',
        type=int,
        nargs='+',
        default=[0],
        help='mmdet classes that are hands')
    parser.add_argument(
        '--det-score-thr',
        type=float,
        default=0.3,
        help='lowest mmdet box score kept')
    parser.add_argument(
        '--max-hands',
        type=int,
        default=2,
        help='most hands predicted per image (the most confident; a note '
        'says when more were found)')
    parser.add_argument(
        '--bbox',
        nargs='+',
        metavar='BOX',
        help='x1 y1 x2 y2 (one box for every image), or a json file '
        'mapping image paths or file names to lists of boxes; replaces the '
        'detector')
    parser.add_argument(
        '--hand',
        choices=('right', 'left'),
        help='the hand every image shows (default: the detector\'s '
        'handedness; right when it has none)')
    parser.add_argument(
        '--K',
        nargs=4,
        type=float,
        metavar=('FX', 'FY', 'CX', 'CY'),
        help='camera intrinsics in pixels of the input images (default: the '
        'EXIF 35 mm focal, else assumed 0.85 x the longer side; stated in '
        'the results)')
    parser.add_argument(
        '--bone-length',
        type=float,
        help='middle-finger MCP-PIP length in metres, 0.015-0.08 (sets the '
        'scale; default: assumed, FreiHAND\'s mean 0.0335, stated in the '
        'results)')
    parser.add_argument(
        '--recrop',
        action='store_true',
        default=None,
        help='second pass on a crop around the first prediction (the '
        'released-model configs always do it)')
    parser.add_argument(
        '--no-vis', action='store_true', help='write no pictures or videos')
    parser.add_argument(
        '--draw-every',
        type=int,
        default=1,
        help='draw every N-th video frame (1: all); the frames between '
        'repeat the last drawn one, so the video keeps its length')
    parser.add_argument(
        '--show', action='store_true', help='show the pictures in a window')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar on stderr')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='CPU threads of torch and OpenCV (default 1: torch\'s default '
        'of all cores slows the model step 15x when another process uses a '
        'core; raise it on an idle many-core machine)')
    return parser.parse_args(argv)


def _boxes(arg):
    if arg is None:
        return None
    if len(arg) == 1:
        from peclr_mm.utils.io import read_json
        boxes = read_json(arg[0], 'the --bbox file')
        if not isinstance(boxes, dict):
            raise ValueError(f'--bbox {arg[0]} must map image paths or file '
                             'names to lists of [x1, y1, x2, y2] boxes')
        return boxes
    if len(arg) != 4:
        raise ValueError('--bbox takes four numbers x1 y1 x2 y2 or one json '
                         f'file, got {len(arg)} values')
    try:
        box = [float(v) for v in arg]
    except ValueError:
        raise ValueError(f'--bbox must be four numbers, got {arg}') from None
    from peclr_mm.apis import check_bbox
    return check_bbox(box, name='--bbox').tolist()


def build(args):
    """The inferencer the arguments describe, or ``ValueError``/``OSError``
    naming what is wrong."""
    from peclr_mm.apis import Hand3DPoseInferencer, check_intrinsics
    K = None
    if args.K is not None:
        fx, fy, cx, cy = args.K
        K = check_intrinsics([[fx, 0, cx], [0, fy, cy], [0, 0, 1.]],
                             name='--K')
    if args.det_checkpoint and not args.det_config:
        raise ValueError('--det-checkpoint needs --det-config')
    if args.max_hands < 1:
        raise ValueError(f'--max-hands must be >= 1, got {args.max_hands}')
    if args.draw_every < 1:
        raise ValueError(f'--draw-every must be >= 1, got {args.draw_every}')
    if args.threads < 1:
        raise ValueError(f'--threads must be >= 1, got {args.threads}')
    if args.device.startswith('cuda'):
        import torch
        if not torch.cuda.is_available():
            raise ValueError(f'--device {args.device}: torch finds no CUDA '
                             'GPU on this machine; use --device cpu')
    if args.show:
        from peclr_mm.apis import check_show
        try:
            check_show()
        except RuntimeError as exc:
            raise ValueError(f'--show: {exc}') from None
    detector = args.det_config or (None
                                   if args.detector == 'none' else 'mediapipe')
    return Hand3DPoseInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        det_model=detector,
        det_weights=args.det_checkpoint,
        det_cat_ids=args.det_cat_ids,
        det_score_thr=args.det_score_thr,
        max_hands=args.max_hands,
        K=K,
        bone_length=args.bone_length,
        hand=args.hand,
        recrop=args.recrop,
        threads=args.threads,
        det_complexity=0 if args.det_landmarks == 'lite' else 1)


def _describe(res) -> None:
    for inst in res['predictions'][0]:
        score = inst['score']
        print(f'{res["input"]}: {inst["handedness"]} hand '
              f'({inst["handedness_source"]}), confidence '
              f'{"none" if score is None else f"{score:.2f}"}, box '
              f'{inst["bbox_source"]}, wrist at z = '
              f'{inst["keypoints_3d"][0][2] * 1000:.0f} mm; K '
              f'{inst["K_source"]}; bone length '
              f'{inst["bone_length_source"]}')


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    import peclr_mm  # noqa: F401
    from peclr_mm.apis import expand_inputs
    from peclr_mm.weights import UnsafeCheckpointError
    try:
        boxes = _boxes(args.bbox)
        expand_inputs(args.inputs)  # a bad input fails before the model
        inferencer = build(args)
    except (ValueError, OSError, ImportError, UnsafeCheckpointError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    start, done, hands, noted = time.perf_counter(), 0, 0, []
    last, shown = None, 0
    results = inferencer(
        args.inputs,
        pred_out_dir=osp.join(args.out_dir, 'predictions'),
        vis_out_dir=osp.join(args.out_dir, 'visualizations'),
        show=args.show,
        draw_every=0 if args.no_vis else args.draw_every,
        bboxes=boxes,
        progress=not args.no_progress,
        skip_errors=True)
    interrupted = started = False
    try:
        for res in results:
            started = True
            if res['error']:
                print(f'error: {res["error"]}', file=sys.stderr)
                continue
            done += 1
            hands += len(res['predictions'][0])
            if res['note']:
                noted.append(res['input'] +
                             (f' frame {res["frame_id"]}' if res['kind'] in
                              ('video', 'webcam') else '') +
                             f' ({res["note"]})')
            if res['input'] != last and shown < SHOWN:
                # the first inputs' hands in words (all are in the results)
                last, shown = res['input'], shown + 1
                _describe(res)
    except KeyboardInterrupt:
        interrupted = True
        results.close()  # writes what is done; a video marked incomplete
    except OSError as exc:
        if started:
            raise
        print(f'error: {exc}', file=sys.stderr)  # --out-dir, before any input
        return 2
    seconds = time.perf_counter() - start
    for path, why in inferencer.skipped:
        print(f'skipped {path}: {why}', file=sys.stderr)
    for r in inferencer.renamed:
        print(f'{r["input"]}: results written as {r["name"]}, as '
              f'{r["instead_of"]} holds those of {r["held_by"]} (an '
              'earlier run)')
    for v in inferencer.videos:
        frames = (f'{v["frames_read"]} of {v["frames_expected"]}'
                  if v['frames_expected'] else str(v['frames_read']))
        print(f'{v["input"]}: {frames} frame(s) read' +
              (f'; {v["note"]}' if v.get('note') else ''))
        if v.get('note'):
            print(f'warning: {v["input"]}: {v["note"]}', file=sys.stderr)
    t = inferencer.timing
    print(f'{done} image(s)/frame(s), {hands} hand(s) in {seconds:.1f} s '
          f'({done / max(seconds, 1e-9):.1f} per s; detector '
          f'{np.mean(t["detector_ms"] or [0]):.0f} ms, model '
          f'{np.mean(t["model_ms"] or [0]):.0f} ms per image); results in '
          f'{osp.join(args.out_dir, "predictions")}')
    if noted:
        print(f'notes on {len(noted)}: ' + ', '.join(noted[:10]) +
              (' ...' if len(noted) > 10 else ''))
    if interrupted:
        print('interrupted: the results so far are written', file=sys.stderr)
        return 130
    if inferencer.errors:
        if not done:
            print('every input failed (reported above)', file=sys.stderr)
            return 2
        print(
            f'{len(inferencer.errors)} input(s) failed (reported above)',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
