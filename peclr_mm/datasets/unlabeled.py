# Copyright (c) peclr_mm authors. All rights reserved.
"""Unlabeled hand images for self-supervised pretraining."""
import hashlib
import logging
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmpose.registry import DATASETS

from ..utils.arrays import check_bbox
from ..utils.io import atomic_write, iter_json_object, read_json
from .freihand3d import HandDatasetBase

__all__ = ['HandImageFolder', 'YouTube3DHandsDataset', 'condense_youtube3d']

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


@DATASETS.register_module()
class HandImageFolder(HandDatasetBase):
    """Any folder of hand images (searched recursively), no labels.

    Args:
        data_root (str): the folder.
        box_file (str, optional): json mapping an image's path relative to
            ``data_root`` to its hand box ``[x1, y1, x2, y2]`` (pixels) and
            optionally ``{"bbox": [...], "is_left": true}``. Images without
            a box are cropped whole.

    A file with an image's name that is not a regular file (a FIFO, which
    would block the loader for ever; a device) is refused by its name when
    the folder is read.
    """

    DATASET_NAME = 'hand_image_folder'

    def __init__(self,
                 data_root: str,
                 box_file: Optional[str] = None,
                 **kwargs):
        self.box_file = box_file
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'image folder {self.data_root} does not exist')
        boxes = {}
        if self.box_file:
            path = self.box_file if osp.isabs(self.box_file) else osp.join(
                self.data_root, self.box_file)
            boxes = read_json(path, 'a json object: image -> box')
            if not isinstance(boxes, dict):
                raise ValueError(f'{path}: expected a json object mapping '
                                 'image paths to boxes')
        from .transforms.loading import not_regular_file
        files = []
        for root, _, names in os.walk(self.data_root):
            for n in names:
                if not n.lower().endswith(IMG_EXTENSIONS):
                    continue
                path = osp.join(root, n)
                problem = not_regular_file(path)
                if problem is not None:  # a FIFO would block for ever
                    raise ValueError(f'{path}: {problem}')
                files.append(path)
        if not files:
            raise ValueError(f'{self.data_root} holds no images '
                             f'({", ".join(IMG_EXTENSIONS)})')
        data_list = []
        for i, path in enumerate(sorted(files)):
            rel = osp.relpath(path, self.data_root)
            info = dict(img_path=path, img_id=i, id=i)
            if rel in boxes:
                entry = boxes[rel]
                if isinstance(entry, dict):
                    info['is_left'] = bool(entry.get('is_left', False))
                    entry = entry.get('bbox')
                info['bbox'] = check_bbox(
                    entry, f'{self.box_file}: box of {rel!r}').astype(
                        np.float32)[None]
            data_list.append(info)
        return data_list


def condense_youtube3d(ann_file: str) -> dict:
    """The YouTube3DHands annotation json reduced to what PeCLR uses: per
    hand the frame name, image id, box (extent of the 778 vertices' x, y)
    and handedness. The json (about 1 GB for the training split) is read
    hand by hand (:func:`~peclr_mm.utils.io.iter_json_object`): each hand's
    vertices are reduced to its box as they are read, so memory stays at a
    few hundred MB whatever the file's size (a whole ``json.load`` of the
    training split takes about 9 GB); ``images`` and ``annotations`` may
    come in either order.

    Returns:
        dict: ``names`` (N,) str, ``image_ids`` (N,), ``boxes`` (N, 4),
        ``is_left`` (N,) and ``ann_index`` (N,) of the hand in the json.
    """
    what = 'YouTube3DHands annotations'
    images, seen = {}, set()
    ids, boxes, left = [], [], []
    for key, item in iter_json_object(
            ann_file, what, streamed=('images', 'annotations')):
        seen.add(key)
        if key == 'images':
            if not isinstance(item, dict) or 'id' not in item or \
                    'name' not in item:
                raise ValueError(f'{ann_file}: every image needs "id" and '
                                 f'"name", got {str(item)[:80]}')
            images[item['id']] = item['name']
        elif key == 'annotations':
            i = len(ids)
            verts = np.asarray(
                item.get('vertices') if isinstance(item, dict) else None,
                dtype=np.float32)
            if verts.shape != (778, 3):
                raise ValueError(
                    f'{ann_file}: annotation {i} field vertices must be '
                    f'778 x 3, got {verts.shape}')
            ids.append(item.get('image_id'))
            boxes.append(
                np.concatenate([verts[:, :2].min(0), verts[:, :2].max(0)]))
            left.append(bool(item.get('is_left', False)))
    for key in ('images', 'annotations'):
        if key not in seen:
            raise ValueError(f'{ann_file}: field {key!r} missing')
    for i, image_id in enumerate(ids):
        if image_id not in images:
            raise ValueError(f'{ann_file}: annotation {i} refers to '
                             f'unknown image_id {image_id}')
    return dict(
        names=np.asarray([images[i] for i in ids], dtype=str),
        image_ids=np.asarray(ids, dtype=np.int64),
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        is_left=np.asarray(left, dtype=bool),
        ann_index=np.arange(len(ids), dtype=np.int64))


def _cache_key(path: str) -> str:
    st = os.stat(path)
    tag = f'{osp.abspath(path)}:{st.st_size}:{st.st_mtime_ns}'
    return hashlib.sha1(tag.encode()).hexdigest()[:12]


@DATASETS.register_module()
class YouTube3DHandsDataset(HandDatasetBase):
    """YouTube3DHands as unlabeled crops (PeCLR's use of it).

    Reads the COCO-like annotation json (``images`` with ``id``, ``name``;
    ``annotations`` with ``image_id``, ``vertices`` (778 x 3, image pixels,
    depth relative) and ``is_left``). The hand box is the extent of the
    vertices' x, y; left hands are flagged so that the canonical crop
    mirrors them to right hands.

    The json is condensed once to boxes (:func:`condense_youtube3d`) and
    cached (``cache_dir``, keyed by the file's path, size and time), so
    neither a later run nor any worker holds the vertices. Many videos of
    the official lists are gone, so frames are missing: they are dropped at
    load time and reported (a count in the log, the list in
    ``cache_dir/<ann name>-<key>.missing.txt``). A frame named ``.png``
    in the json is also found as ``.jpg`` (and the reverse), as PeCLR's
    preparation writes it.

    Args:
        data_root (str): dataset root; image paths are relative to it.
        ann_file (str): annotation json, relative to ``data_root``.
        min_box_size (float): drop hands whose box is smaller (pixels).
        cache_dir (str, optional): where the condensed annotations and the
            missing-frame list go; defaults to
            ``~/.cache/peclr_mm/youtube3dhands``.
    """

    DATASET_NAME = 'youtube3dhands'

    def __init__(self,
                 min_box_size: float = 10.,
                 cache_dir: Optional[str] = None,
                 **kwargs):
        self.min_box_size = min_box_size
        self.cache_dir = osp.expanduser(cache_dir
                                        or '~/.cache/peclr_mm/youtube3dhands')
        self.missing_file: Optional[str] = None
        self.num_missing = 0
        super().__init__(**kwargs)

    def _cache_stem(self) -> str:
        """``<json name>-<key of its path, size and time>``: the name of the
        cache and of the missing-frame list."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{self.ann_file} is missing (expected '
                                    'YouTube3DHands annotations)')
        stem = osp.splitext(osp.basename(self.ann_file))[0]
        return f'{stem}-{_cache_key(self.ann_file)}'

    def _condensed(self, stem: str) -> dict:
        """The condensed annotations, from the cache when it is current."""
        cache = osp.join(self.cache_dir, f'{stem}.npz')
        if osp.isfile(cache):
            with np.load(cache, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        data = condense_youtube3d(self.ann_file)
        os.makedirs(self.cache_dir, exist_ok=True)

        def save(tmp):
            with open(tmp, 'wb') as f:
                np.savez(f, **data)

        atomic_write(cache, save)
        return data

    def _resolve(self, name: str, listings: dict) -> Optional[str]:
        """The frame's path on disk (the json's name, or the same stem as
        ``.jpg`` / ``.png``), or ``None``."""
        path = osp.join(self.data_root, name)
        folder, base = osp.split(path)
        if folder not in listings:
            try:
                listings[folder] = set(os.listdir(folder))
            except OSError:
                listings[folder] = set()
        files = listings[folder]
        stem, ext = osp.splitext(base)
        for candidate in (base, stem + '.jpg', stem + '.png'):
            if candidate in files:
                return osp.join(folder, candidate)
        return None

    def load_data_list(self) -> List[dict]:
        from mmengine.logging import print_log
        stem = self._cache_stem()
        data = self._condensed(stem)
        listings: dict = {}
        data_list, missing = [], []
        for i in range(len(data['names'])):
            lo, hi = data['boxes'][i, :2], data['boxes'][i, 2:]
            if min(hi - lo) < self.min_box_size:
                continue
            path = self._resolve(str(data['names'][i]), listings)
            if path is None:
                missing.append(str(data['names'][i]))
                continue
            data_list.append(
                dict(
                    img_path=path,
                    img_id=int(data['image_ids'][i]),
                    id=int(data['ann_index'][i]),
                    bbox=data['boxes'][i][None].copy(),
                    is_left=bool(data['is_left'][i])))
        self.num_missing = len(missing)
        if missing:
            os.makedirs(self.cache_dir, exist_ok=True)
            self.missing_file = osp.join(self.cache_dir, f'{stem}.missing.txt')
            frames = sorted(set(missing))

            def dump(tmp):
                with open(tmp, 'w') as f:
                    f.write('\n'.join(frames) + '\n')

            atomic_write(self.missing_file, dump)
            print_log(
                f'YouTube3DHands: {len(missing)} of '
                f'{len(missing) + len(data_list)} hands dropped, their '
                f'frames ({len(frames)}) are not under {self.data_root} '
                f'(videos no longer online?); list: {self.missing_file}',
                logger='current',
                level=logging.WARNING)
        if not data_list:
            raise FileNotFoundError(
                f'none of the frames of {self.ann_file} is under '
                f'{self.data_root} (e.g. {missing[0] if missing else "-"}); '
                'is data_root the folder the frame names are relative to?')
        return data_list
