# Copyright (c) peclr_mm authors. All rights reserved.
"""Unlabeled hand images for self-supervised pretraining."""
import json
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmpose.registry import DATASETS

__all__ = ['HandImageFolder', 'YouTube3DHandsDataset']

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def _load_json(path: str, what: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing (expected {what})')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: not valid JSON ({exc})') from exc


def _check_box(box, path: str, key: str) -> np.ndarray:
    arr = np.asarray(box, dtype=np.float32).reshape(-1)
    if arr.shape != (4, ) or not np.all(np.isfinite(arr)) or \
            arr[2] <= arr[0] or arr[3] <= arr[1]:
        raise ValueError(f'{path}: box of {key!r} must be [x1, y1, x2, y2] '
                         f'with x2 > x1 and y2 > y1, got {box}')
    return arr[None]


@DATASETS.register_module()
class HandImageFolder(BaseDataset):
    """Any folder of hand images (searched recursively), no labels.

    Args:
        data_root (str): the folder.
        box_file (str, optional): json mapping an image's path relative to
            ``data_root`` to its hand box ``[x1, y1, x2, y2]`` (pixels) and
            optionally ``{"bbox": [...], "is_left": true}``. Images without
            a box are cropped whole.
    """

    METAINFO = dict(dataset_name='hand_image_folder')

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
            boxes = _load_json(path, 'a json object: image -> box')
            if not isinstance(boxes, dict):
                raise ValueError(f'{path}: expected a json object mapping '
                                 'image paths to boxes')
        files = []
        for root, _, names in os.walk(self.data_root):
            files += [
                osp.join(root, n) for n in names
                if n.lower().endswith(IMG_EXTENSIONS)
            ]
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
                info['bbox'] = _check_box(entry, self.box_file, rel)
            data_list.append(info)
        return data_list


@DATASETS.register_module()
class YouTube3DHandsDataset(BaseDataset):
    """YouTube3DHands as unlabeled crops (PeCLR's use of it).

    Reads the COCO-like annotation json (``images`` with ``id``, ``name``;
    ``annotations`` with ``image_id``, ``vertices`` (778 x 3, image pixels,
    depth relative) and ``is_left``). The hand box is the extent of the
    vertices' x, y; left hands are flagged so that the canonical crop
    mirrors them to right hands.

    Args:
        data_root (str): dataset root; image paths are relative to it.
        ann_file (str): annotation json, relative to ``data_root``.
        min_box_size (float): drop hands whose box is smaller (pixels).
    """

    METAINFO = dict(dataset_name='youtube3dhands')

    def __init__(self, min_box_size: float = 10., **kwargs):
        self.min_box_size = min_box_size
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        ann = _load_json(self.ann_file, 'YouTube3DHands annotations')
        for key in ('images', 'annotations'):
            if key not in ann:
                raise ValueError(f'{self.ann_file}: field {key!r} missing')
        images = {}
        for img in ann['images']:
            if 'id' not in img or 'name' not in img:
                raise ValueError(f'{self.ann_file}: every image needs "id" '
                                 f'and "name", got keys {sorted(img)}')
            images[img['id']] = img['name']
        data_list = []
        for i, a in enumerate(ann['annotations']):
            if a.get('image_id') not in images:
                raise ValueError(f'{self.ann_file}: annotation {i} refers to '
                                 f'unknown image_id {a.get("image_id")}')
            verts = np.asarray(a.get('vertices'), dtype=np.float32)
            if verts.shape != (778, 3):
                raise ValueError(
                    f'{self.ann_file}: annotation {i} field vertices must be '
                    f'778 x 3, got {verts.shape}')
            lo, hi = verts[:, :2].min(0), verts[:, :2].max(0)
            if min(hi - lo) < self.min_box_size:
                continue
            data_list.append(
                dict(
                    img_path=osp.join(self.data_root, images[a['image_id']]),
                    img_id=int(a['image_id']),
                    id=i,
                    bbox=np.concatenate([lo, hi])[None],
                    is_left=bool(a.get('is_left', False))))
        return data_list
