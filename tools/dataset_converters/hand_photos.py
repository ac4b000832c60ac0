# Copyright (c) peclr_mm authors. All rights reserved.
"""Any mix of folders, photos and videos -> an unlabeled hand set for
PeCLR pretraining.

Every hand is found with the embedded detector (MediaPipe Hands); a photo
in which none is found is tried again padded by half, then by all of its
size on each side (the palm detector needs context around a hand that
fills the frame). Each kept hand is cut out square around its landmarks
(``--margin`` times the box's longer side, ``--crop-size`` pixels), left
hands mirrored into right hands (as PeCLR mirrors YouTube3DHands'), and
written to ``OUT/images``; ``OUT/boxes.json`` gives each crop's hand box,
so that ``HandImageFolder(data_root=OUT, box_file='boxes.json')`` reads
the set (``configs/peclr/*_real-hands*.py``).

``OUT/manifest.jsonl`` records every source file (its path, the input it
was found under, the licence file at that input's root if one is there,
SHA-1 of its bytes) and every hand found (frame, box in the source,
handedness, score, landmarks in the crop, kept or the reason it was
dropped). A killed run resumes where it stopped (files already in the
manifest are not read again); the tool writes only inside ``OUT`` and
never into an input. Example::

    python tools/dataset_converters/hand_photos.py \\
        ~/photos ~/clips/kitchen.mp4 --out data/real_hands --workers 2
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys
import time
from collections import Counter
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
LICENCE_NAMES = ('LICENSE', 'LICENCE', 'COPYING', 'LICENSE.txt', 'LICENSE.md',
                 'LICENCE.txt', 'License.txt')
MANIFEST = 'manifest.jsonl'
#: margins tried, in units of the photo's size on each side, where no hand
#: of at least --min-size is found (on the 100 px sign-digit photos, 74 of
#: the 117 hands missed with 0.5 are found with 1.0)
PADS = (0.5, 1.0)
FORMAT = 'peclr_mm hand_photos 1'
#: the settings a resumed run must share with the run it continues
SETTINGS = ('min_size', 'min_score', 'det_thr', 'max_hands', 'max_frames',
            'dup_thr', 'crop_size', 'margin')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Find every hand in folders, photos and videos and '
        'write them as an unlabeled pretraining set (crops + boxes.json + '
        'manifest.jsonl). Resumes a killed run into the same --out.')
    parser.add_argument(
        'inputs',
        nargs='+',
        help='folders (searched recursively), photos '
        f'({", ".join(IMAGE_EXTENSIONS)}) and videos '
        f'({", ".join(VIDEO_EXTENSIONS)})')
    parser.add_argument('--out', required=True, help='the set to write')
    parser.add_argument(
        '--min-size',
        type=float,
        default=40.,
        help='drop hands whose landmarks span fewer pixels (longer side of '
        'their box) in the source (default 40)')
    parser.add_argument(
        '--min-score',
        type=float,
        default=0.5,
        help="drop hands whose detector score (MediaPipe's handedness "
        'confidence) is lower (default 0.5)')
    parser.add_argument(
        '--det-thr',
        type=float,
        default=0.5,
        help="the detector's own presence threshold (default 0.5)")
    parser.add_argument(
        '--max-hands', type=int, default=2, help='hands per image (2)')
    parser.add_argument(
        '--max-frames',
        type=int,
        default=200,
        help='at most this many frames per video, evenly spaced (200)')
    parser.add_argument(
        '--dup-thr',
        type=float,
        default=0.03,
        help='a video frame\'s hand whose 16x16 grey thumbnail differs from '
        'the last kept one of that hand by less than this mean absolute '
        'difference (fraction of 255) is a near-duplicate (0.03)')
    parser.add_argument(
        '--crop-size', type=int, default=256, help='crop side, px (256)')
    parser.add_argument(
        '--margin',
        type=float,
        default=2.0,
        help='crop side over the hand box\'s longer side (2.0: room for '
        'the pretraining views\' margins and rotations)')
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='detector processes (default 2; 0 runs in this process)')
    parser.add_argument(
        '--limit',
        type=int,
        default=None,
        help='read at most this many source files (a quick look)')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    for name in ('min_size', 'margin'):
        if not getattr(args, name) > 0:
            parser.error(f'--{name.replace("_", "-")} must be positive')
    for name in ('min_score', 'det_thr', 'dup_thr'):
        if not 0. <= getattr(args, name) <= 1.:
            parser.error(f'--{name.replace("_", "-")} must lie in [0, 1]')
    for name in ('max_hands', 'max_frames', 'crop_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1')
    return args


def licence_of(root: str) -> Optional[str]:
    """The licence file at the root of an input folder, if one is there."""
    if not osp.isdir(root):
        return None
    for name in LICENCE_NAMES:
        path = osp.join(root, name)
        if osp.isfile(path):
            return osp.abspath(path)
    return None


def list_sources(inputs: Sequence[str], counts: Counter) -> List[dict]:
    """Every photo and video under ``inputs``, sorted per input, each once
    (by resolved path; symbolic links to folders are not followed, so a
    loop cannot trap the walk).

    Args:
        inputs: folders, photos and videos.
        counts: gets ``not a photo or video`` for every other file.

    Returns:
        list[dict]: ``path``, ``root`` (the input it was found under),
        ``kind`` (``'image'`` or ``'video'``), ``licence``.

    Raises:
        FileNotFoundError: an input that does not exist.
    """
    sources, seen = [], set()
    for item in inputs:
        if not osp.exists(item):
            raise FileNotFoundError(f'input {item} does not exist')
        root = item if osp.isdir(item) else osp.dirname(item) or '.'
        licence = licence_of(root)
        if osp.isdir(item):
            paths = []
            for folder, dirs, names in os.walk(item):
                dirs.sort()
                paths += [osp.join(folder, n) for n in sorted(names)]
        else:
            paths = [item]
        for path in paths:
            ext = osp.splitext(path)[1].lower()
            kind = 'image' if ext in IMAGE_EXTENSIONS else \
                'video' if ext in VIDEO_EXTENSIONS else None
            if kind is None:
                counts['files not a photo or video'] += 1
                continue
            real = osp.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            sources.append(
                dict(
                    path=osp.abspath(path),
                    root=osp.abspath(root),
                    kind=kind,
                    licence=licence))
    return sources


def check_out(out: str, sources: Sequence[dict], inputs: Sequence[str],
              settings: dict) -> List[dict]:
    """Refuse an ``out`` that is inside an input, holds an input, or is a
    folder this tool did not write; return the records of a run to resume
    (same settings), or [] for a new set.

    Raises:
        FileExistsError: ``out`` would mix with an input or a foreign
            folder, or continues a run made with other settings.
    """
    out_real = osp.realpath(out)
    for item in inputs:
        real = osp.realpath(item)
        if out_real == real or out_real.startswith(real + os.sep) or \
                real.startswith(out_real + os.sep):
            raise FileExistsError(
                f'--out {out} and the input {item} overlap: the set is '
                'written outside every input (choose another --out)')
    manifest = osp.join(out, MANIFEST)
    if osp.isfile(out):
        raise FileExistsError(f'--out {out} is a file; expected a folder')
    if not osp.isdir(out) or not os.listdir(out):
        return []
    if not osp.isfile(manifest):
        raise FileExistsError(
            f'--out {out} exists and holds no {MANIFEST}: it was not '
            'written by this tool, and nothing is written into it')
    records = read_manifest(manifest)
    header = records.pop(0) if records else {}
    if header.get('format') != FORMAT:
        raise FileExistsError(
            f'{manifest}: line 1 is not a {FORMAT!r} header: not written '
            'by this tool, nothing is written into it')
    if header.get('settings') != settings:
        changed = sorted(
            k for k in settings
            if header.get('settings', {}).get(k) != settings[k])
        raise FileExistsError(
            f'{out} was written with other settings ({", ".join(changed)}): '
            'resume with the same ones, or write a new --out')
    return records


def read_manifest(path: str) -> List[dict]:
    """The manifest's records; a last line cut short by a kill is dropped
    from the file (it is written again)."""
    records, good = [], 0
    with open(path, 'rb') as f:
        data = f.read()
    for line in data.split(b'\n'):
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            break
        good += len(line) + 1
    if good < len(data):
        with open(path, 'r+b') as f:
            f.truncate(min(good, len(data)))
    return records


# ---------------------------------------------------------------- workers
_DETECT = None
_OPTS: Dict = {}


def build_detector(opts: dict):
    """The embedded detector: MediaPipe Hands on still images, returning
    per hand ``keypoints`` (21, 2), ``bbox``, ``score``, ``handedness``."""
    from peclr_mm.apis import MediaPipeHands
    return MediaPipeHands(
        static_image_mode=True,
        max_num_hands=opts['max_hands'],
        min_detection_confidence=opts['det_thr'])


def _init_worker(opts: dict) -> None:
    global _DETECT, _OPTS
    import cv2
    cv2.setNumThreads(1)
    _OPTS = opts
    _DETECT = build_detector(opts)


def detect_with_margin(img: np.ndarray, min_size: float = 0.) -> List[dict]:
    """Hands in ``img``; where none at least ``min_size`` px is found, once
    more on ``img`` padded by ``PADS`` of its size on each side with the
    colour of its border (the background, where a hand fills the photo).
    Landmarks and boxes in ``img``'s pixels."""
    import cv2
    h, w = img.shape[:2]
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    colour = [int(v) for v in np.median(border, axis=0)]
    hands = []
    for pad in (0., *PADS):
        py, px = int(h * pad), int(w * pad)
        padded = img if pad == 0 else cv2.copyMakeBorder(
            img, py, py, px, px, cv2.BORDER_CONSTANT, value=colour)
        found = _DETECT(padded)
        for hand in found:
            hand['keypoints'] = hand['keypoints'] - (px, py)
            hand['bbox'] = hand['bbox'] - (px, py, px, py)
            hand['padded'] = pad
        if found:
            hands = found
        if any(
                max(hd['bbox'][2:] - hd['bbox'][:2]) >= min_size
                for hd in found):
            break
    return hands


def crop_hand(img: np.ndarray, keypoints: np.ndarray, mirror: bool, size: int,
              margin: float):
    """The square crop around ``keypoints`` (``margin`` x their box's
    longer side, ``size`` px), mirrored into a right hand if ``mirror``.

    Returns:
        tuple: the crop (size, size, 3) uint8, the 2x3 matrix from source
        pixels to crop pixels and the landmarks in the crop.
    """
    import cv2
    lo, hi = keypoints.min(0), keypoints.max(0)
    centre = (lo + hi) / 2
    scale = size / (margin * max(hi - lo))
    sx = -scale if mirror else scale
    mat = np.array([[sx, 0., size / 2 - sx * centre[0]],
                    [0., scale, size / 2 - scale * centre[1]]])
    crop = cv2.warpAffine(
        img,
        mat, (size, size),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0))
    kpts = keypoints @ mat[:, :2].T + mat[:, 2]
    return crop, mat, kpts


def _thumb(crop: np.ndarray) -> np.ndarray:
    import cv2
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (16, 16), interpolation=cv2.INTER_AREA) / 255.


def _frames(source: dict, counts: dict) -> Iterator[tuple]:
    """(frame index, BGR image) of a photo, or of up to ``max_frames``
    evenly spaced frames of a video."""
    import cv2
    if source['kind'] == 'image':
        img = cv2.imread(source['path'], cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError('cannot be decoded as an image')
        counts['frames_expected'] = 1
        yield 0, img
        return
    cap = cv2.VideoCapture(source['path'])
    if not cap.isOpened():
        raise ValueError('cannot be opened as a video')
    try:
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if total <= 0:
            raise ValueError('reports no frame count')
        counts['frames_expected'] = total
        step = max(1, int(np.ceil(total / _OPTS['max_frames'])))
        wanted = set(range(0, total, step))
        for i in range(total):
            if i not in wanted:
                if not cap.grab():
                    counts['truncated_at'] = i
                    return
                continue
            ok, frame = cap.read()
            if not ok:
                counts['truncated_at'] = i
                return
            yield i, frame
    finally:
        cap.release()


def process(source: dict) -> dict:
    """Find, filter and crop the hands of one source file.

    Returns:
        dict: the manifest record (``hands`` with kept or dropped and the
        reason) and ``crops``: {file name: JPEG bytes} of the kept hands.
    """
    import cv2
    opts = _OPTS
    record = dict(
        source=source['path'],
        root=source['root'],
        kind=source['kind'],
        licence=source['licence'])
    try:
        with open(source['path'], 'rb') as f:
            record['sha1'] = hashlib.sha1(f.read()).hexdigest()
    except OSError as exc:
        record.update(status='unreadable', error=str(exc.strerror or exc))
        return dict(record=record, crops={})
    stem = hashlib.sha1(source['path'].encode()).hexdigest()[:12]
    hands_out, crops, counts, last = [], {}, {}, {}
    frames = 0
    try:
        for frame_id, img in _frames(source, counts):
            frames += 1
            h, w = img.shape[:2]
            for k, hand in enumerate(
                    detect_with_margin(img, opts['min_size'])):
                box = hand['bbox']
                side = float(max(box[2] - box[0], box[3] - box[1]))
                entry = dict(
                    frame=frame_id,
                    image_size=[w, h],
                    bbox=[round(float(v), 2) for v in box],
                    handedness=hand['handedness'],
                    score=round(hand['score'], 4),
                    padded=float(hand['padded']))
                reason = None
                if side < opts['min_size']:
                    reason = 'too small'
                elif hand['score'] < opts['min_score']:
                    reason = 'low score'
                crop = kpts = None
                if reason is None:
                    crop, _, kpts = crop_hand(img, hand['keypoints'],
                                              hand['handedness'] == 'left',
                                              opts['crop_size'],
                                              opts['margin'])
                    if source['kind'] == 'video':
                        thumb = _thumb(crop)
                        prev = last.get(hand['handedness'])
                        if prev is not None and np.abs(
                                thumb - prev).mean() < opts['dup_thr']:
                            reason = 'near-duplicate'
                        else:
                            last[hand['handedness']] = thumb
                if reason is not None:
                    entry['dropped'] = reason
                else:
                    name = f'images/{stem}_{frame_id:06d}_{k}.jpg'
                    ok, buf = cv2.imencode('.jpg', crop,
                                           [cv2.IMWRITE_JPEG_QUALITY, 95])
                    if not ok:
                        raise ValueError('a crop could not be encoded')
                    crops[name] = buf.tobytes()
                    entry.update(
                        crop=name,
                        mirrored=hand['handedness'] == 'left',
                        crop_bbox=[
                            round(float(v), 2)
                            for v in (*kpts.min(0), *kpts.max(0))
                        ],
                        crop_keypoints=np.round(kpts, 2).tolist())
                hands_out.append(entry)
    except (ValueError, cv2.error) as exc:
        if frames == 0:
            record.update(status='unreadable', error=str(exc))
            return dict(record=record, crops={})
        counts['error'] = str(exc)
    record.update(status='ok', frames=frames, hands=hands_out, **counts)
    if source['kind'] == 'video' and 'truncated_at' in counts:
        record['note'] = (f'decoding stopped at frame {counts["truncated_at"]}'
                          f' of {counts["frames_expected"]}')
    return dict(record=record, crops=crops)


# ------------------------------------------------------------------- main
def write_boxes(out: str, records: Sequence[dict]) -> int:
    """``OUT/boxes.json``: every kept crop's hand box (crop pixels),
    right hands (left ones were mirrored by their crop)."""
    from peclr_mm.utils.io import atomic_write_json
    boxes = {}
    for rec in records:
        for hand in rec.get('hands', ()):
            if 'crop' in hand:
                boxes[hand['crop']] = dict(
                    bbox=hand['crop_bbox'], is_left=False)
    atomic_write_json(osp.join(out, 'boxes.json'), boxes, indent=0)
    return len(boxes)


def summarise(records: Sequence[dict], counts: Counter) -> Counter:
    """found / kept / dropped-by-reason counts over ``records``."""
    total = Counter(counts)
    for rec in records:
        total[f'{rec["kind"]}s read'] += rec.get('status') == 'ok'
        if rec.get('status') == 'unreadable':
            total['files unreadable'] += 1
        elif rec.get('status') == 'duplicate':
            total['files identical to an earlier one'] += 1
        total['frames read'] += rec.get('frames', 0)
        total['frames with no hand'] += rec.get('frames', 0) - len(
            {h['frame']
             for h in rec.get('hands', ())})
        for hand in rec.get('hands', ()):
            total['hands found'] += 1
            if 'crop' in hand:
                total['hands kept'] += 1
                total['left hands mirrored'] += hand['mirrored']
            else:
                total[f'hands dropped: {hand["dropped"]}'] += 1
        total['videos truncated'] += 'truncated_at' in rec
    return total


def main(argv=None) -> int:
    args = parse_args(argv)
    settings = {k: getattr(args, k) for k in SETTINGS}
    settings['pads'] = list(PADS)
    counts = Counter()
    try:
        sources = list_sources(args.inputs, counts)
        done = check_out(args.out, sources, args.inputs, settings)
    except (FileNotFoundError, FileExistsError) as exc:
        print(f'hand_photos: {exc}', file=sys.stderr)
        return 2
    if args.limit is not None:
        sources = sources[:args.limit]
    os.makedirs(osp.join(args.out, 'images'), exist_ok=True)
    manifest = osp.join(args.out, MANIFEST)
    if not done:
        with open(manifest, 'w') as f:
            f.write(json.dumps(dict(format=FORMAT, settings=settings)) + '\n')
    seen = {r['source'] for r in done}
    hashes = {r['sha1']: r['source'] for r in done if r.get('sha1')}
    todo = [s for s in sources if s['path'] not in seen]
    print(f'hand_photos: {len(sources)} photos and videos, {len(done)} done '
          f'earlier, {len(todo)} to read -> {args.out}')
    from peclr_mm.utils.io import atomic_write
    records = list(done)
    start = time.time()
    opts = dict(settings)
    if args.workers > 0:
        import multiprocessing as mp
        pool = mp.get_context('spawn').Pool(
            args.workers, initializer=_init_worker, initargs=(opts, ))
        results = pool.imap(process, todo, chunksize=4)
    else:
        pool = None
        _init_worker(opts)
        results = map(process, todo)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit='file', dynamic_ncols=True)
    try:
        with open(manifest, 'a') as f:
            for result in results:
                rec = result['record']
                first = hashes.get(rec.get('sha1'))
                if first is not None and rec.get('status') == 'ok':
                    rec = dict(
                        source=rec['source'],
                        root=rec['root'],
                        kind=rec['kind'],
                        licence=rec['licence'],
                        sha1=rec['sha1'],
                        status='duplicate',
                        same_as=first)
                else:
                    for name, data in result['crops'].items():
                        atomic_write(
                            osp.join(args.out, name),
                            lambda p, d=data: open(p, 'wb').write(d))
                    if rec.get('sha1'):
                        hashes.setdefault(rec['sha1'], rec['source'])
                if rec.get('status') == 'unreadable':
                    msg = f'hand_photos: skipped {rec["source"]}: ' \
                        f'{rec["error"]}'
                    if bar is not None:
                        bar.write(msg)
                    else:
                        print(msg, file=sys.stderr)
                f.write(json.dumps(rec) + '\n')
                f.flush()
                records.append(rec)
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
        if pool is not None:
            pool.terminate()
    seconds = time.time() - start
    kept = write_boxes(args.out, records)
    total = summarise(records, counts)
    frames = sum(r.get('frames', 0) for r in records[len(done):])
    print(f'hand_photos: {frames} frames read in {seconds:.1f} s '
          f'({frames / max(seconds, 1e-9):.1f} images/s)')
    for key in sorted(total):
        print(f'  {key}: {total[key]}')
    from peclr_mm.utils.io import atomic_write_json
    atomic_write_json(
        osp.join(args.out, 'summary.json'),
        dict(counts=dict(total), kept=kept, seconds_last_run=seconds),
        indent=1)
    print(f'hand_photos: {kept} hands in {args.out} (boxes.json); read it '
          f"with HandImageFolder(data_root='{args.out}', "
          "box_file='boxes.json')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
