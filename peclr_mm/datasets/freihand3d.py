# Copyright (c) peclr_mm authors. All rights reserved.
"""FreiHAND (and the synthetic set written in its layout) for 3-D hand pose.

Layout (docs/design.md section 6)::

    ROOT/training/rgb/%08d.jpg        V versions of N samples; image k + N*v
    ROOT/training_{xyz,K,scale}.json  shares annotation k
    ROOT/evaluation/rgb/%08d.jpg
    ROOT/evaluation_{xyz,K,scale}.json
"""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS

from ..utils.arrays import check_array, image_size_problem
from ..utils.camera import check_intrinsics_batch, project
from ..utils.io import read_json

__all__ = [
    'FreiHand3DDataset', 'load_freihand_annotations', 'project', 'peclr_split',
    'select_subset', 'HandDatasetBase', 'hand_metainfo', 'HAND_METAINFO'
]

_IMAGE_RE = re.compile(r'^\d{8}\.jpg$')


def check_image_file(path: str) -> Optional[str]:
    """What is wrong with the image at ``path`` (missing, empty, unreadable,
    corrupt, too small), or ``None`` when it decodes to a usable size."""
    import cv2
    if not osp.isfile(path):
        return 'missing'
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        return f'unreadable ({exc})'
    if data.size == 0:
        return 'empty file'
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        return 'corrupt (does not decode)'
    return image_size_problem(img.shape)


def _first_image_size(img_dir: str) -> Optional[Tuple[int, int]]:
    """(W, H) of ``img_dir/00000000.jpg`` (FreiHAND's images share one
    size), or None when it does not decode (``check_dataset.py`` finds such
    files)."""
    import cv2
    img = cv2.imread(osp.join(img_dir, '00000000.jpg'))
    return None if img is None else (img.shape[1], img.shape[0])


def _read_json(path: str, what: str):
    return read_json(path, f'the FreiHAND {what}')


def load_freihand_annotations(data_root: str,
                              split: str,
                              ann_root: Optional[str] = None,
                              with_xyz: bool = True,
                              image_size: Optional[Tuple[int,
                                                         int]] = None) -> dict:
    """Read and check ``{split}_{xyz,K,scale}.json``.

    Each file is looked for in ``ann_root`` first (when given), then in
    ``data_root``: FreiHAND ships the evaluation joints
    (``evaluation_xyz.json``) in a separate archive,
    ``FreiHAND_pub_v2_eval.zip``, often unpacked into its own folder, while
    ``evaluation_K.json`` and ``evaluation_scale.json`` come with the images.
    ``with_xyz=False`` reads the camera and scale only (the public
    evaluation split as the submission server sees it); ``xyz`` is then
    ``None``. Every ``K`` is checked (finite, invertible, positive focal
    lengths, last row ``[0, 0, 1]`` and, given the images' ``image_size``
    (W, H), plausible for it), the first bad one refused naming the file,
    the field and the sample.

    Args:
        data_root: the data set's folder, holding ``{split}_*.json``.
        split: ``'training'`` or ``'evaluation'``.
        ann_root: a folder searched before ``data_root`` for each file
            (e.g. the unpacked ``FreiHAND_pub_v2_eval.zip``); ``None`` for
            none.
        with_xyz: read ``{split}_xyz.json`` too.
        image_size: (W, H) of the images in pixels, to check each ``K``
            against; ``None`` skips that check.

    Returns:
        dict: ``xyz`` (N, 21, 3) metres in the camera frame (``None``
        without ``with_xyz``), ``K`` (N, 3, 3) pixels, ``scale`` (N,)
        bone 9-10 lengths in metres.

    Raises:
        FileNotFoundError: a json file is missing.
        ValueError: ``split`` is unknown, a field has the wrong shape, a
            non-finite value or a bad ``K``, the files disagree in length,
            a joint is at or behind the camera, or a bone length is not
            positive.
    """
    if split not in ('training', 'evaluation'):
        raise ValueError(
            f"split must be 'training' or 'evaluation', got {split!r}")
    roots = [r for r in (ann_root, data_root) if r]
    paths = {}
    keys = ('xyz', 'K', 'scale') if with_xyz else ('K', 'scale')
    for key in keys:
        found = [
            osp.join(r, f'{split}_{key}.json') for r in roots
            if osp.isfile(osp.join(r, f'{split}_{key}.json'))
        ]
        if not found and len(roots) > 1:
            raise FileNotFoundError(
                f'FreiHAND annotation file {split}_{key}.json is missing: '
                f'looked in ann_root {ann_root} and data_root {data_root}')
        paths[key] = found[0] if found else osp.join(data_root,
                                                     f'{split}_{key}.json')
    xyz = None if not with_xyz else check_array(
        _read_json(paths['xyz'], '3-D joints, N x 21 x 3 metres'),
        f'{paths["xyz"]}: field xyz', (21, 3))
    K = check_array(
        _read_json(paths['K'], 'intrinsics, N x 3 x 3'),
        f'{paths["K"]}: field K', (3, 3))
    check_intrinsics_batch(K, f'{paths["K"]}: field K', image_size)
    scale = check_array(
        _read_json(paths['scale'], 'bone 9-10 lengths, N floats'),
        f'{paths["scale"]}: field scale', ())
    lengths = {
        key: len(val)
        for key, val in (('xyz', xyz), ('K', K), ('scale', scale))
        if val is not None
    }
    if len(set(lengths.values())) != 1:
        raise ValueError('FreiHAND annotation files disagree in length: ' +
                         ', '.join(f'{paths[k]} has {n}'
                                   for k, n in lengths.items()))
    if xyz is not None and np.any(xyz[..., 2] <= 0):
        bad = int(np.argwhere(xyz[..., 2] <= 0)[0, 0])
        raise ValueError(f'{paths["xyz"]}: sample {bad} has a joint at or '
                         'behind the camera (z <= 0); xyz must be metres in '
                         'the camera frame')
    if np.any(scale <= 0):
        raise ValueError(f'{paths["scale"]}: bone lengths must be positive')
    return dict(xyz=xyz, K=K, scale=scale)


def peclr_split(num: int,
                part: str,
                train_ratio: float = 0.9,
                seed: int = 5) -> np.ndarray:
    """PeCLR's train/validation split of FreiHAND's training annotations,
    sorted: the same indices as its ``F_DB`` (scikit-learn's
    ``train_test_split(np.arange(num), train_size=train_ratio,
    random_state=seed)``, 29304 / 3256 of 32560), without scikit-learn.

    Args:
        num: number of annotations.
        part: ``'train'`` or ``'val'``.
        train_ratio: fraction for training (PeCLR: 0.9).
        seed: PeCLR's default 5.
    """
    if part not in ('train', 'val'):
        raise ValueError(f"part must be 'train' or 'val', got {part!r}")
    if not 0 < train_ratio < 1:
        raise ValueError(f'train_ratio must be in (0, 1), got {train_ratio}')
    n_train = int(np.floor(train_ratio * num))
    n_val = num - n_train
    if n_train == 0 or n_val == 0:
        raise ValueError(f'a {train_ratio} split of {num} annotations '
                         'leaves a part empty')
    perm = np.random.RandomState(seed).permutation(num)
    return np.sort(perm[n_val:] if part == 'train' else perm[:n_val])


def select_subset(num: int,
                  subset: Optional[Union[int, float]] = None,
                  seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``num`` annotations.

    Args:
        num: number of annotations.
        subset: how many to keep (int) or which fraction (float in (0, 1]);
            None keeps all.
        seed: seed of the draw, so label-scarce experiments repeat.
    """
    if subset is None:
        return np.arange(num)
    if isinstance(subset, float):
        if not 0 < subset <= 1:
            raise ValueError(
                f'subset fraction must be in (0, 1], got {subset}')
        count = max(1, int(round(subset * num)))
    else:
        count = int(subset)
        if not 0 < count <= num:
            raise ValueError(f'subset count must be in 1..{num}, got '
                             f'{subset}')
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num, size=count, replace=False))


#: FreiHAND's 21-joint hand definition (mmpose's dataset info file).
HAND_METAINFO = dict(from_file='configs/_base_/datasets/freihand2d.py')


def hand_metainfo(dataset_name: str, metainfo: Optional[dict] = None) -> dict:
    """mmpose's parsed metainfo of the 21-joint hand under ``dataset_name``:
    ``metainfo`` (default :data:`HAND_METAINFO`) is a dataset info dict or
    ``from_file`` an mmpose dataset info config (found in mmpose's package
    when not under the working directory). Every hand data set of the
    package carries it, so that they concatenate (``ConcatDataset`` with
    ``ignore_keys=['dataset_name']``).

    Args:
        dataset_name: the ``dataset_name`` written into the metainfo.
        metainfo: a dataset info dict, or ``dict(from_file=PATH)``;
            ``None`` for :data:`HAND_METAINFO`.

    Returns:
        dict: the parsed metainfo (mmpose's ``parse_pose_metainfo``) with
        ``dataset_name`` set.
    """
    metainfo = dict(metainfo or HAND_METAINFO)
    if 'from_file' in metainfo:
        cfg_file = metainfo['from_file']
        if not osp.isfile(cfg_file):
            import mmpose
            cfg_file = osp.join(
                osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_',
                'datasets', osp.basename(cfg_file))
        from mmengine.config import Config
        metainfo = Config.fromfile(cfg_file).dataset_info
    meta = parse_pose_metainfo(metainfo)
    meta['dataset_name'] = dataset_name
    return meta


class HandDatasetBase(BaseDataset):
    """A ``BaseDataset`` of hands: its metainfo is :func:`hand_metainfo`
    under the class's ``DATASET_NAME``."""

    METAINFO: dict = HAND_METAINFO
    DATASET_NAME = 'hand'

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        return hand_metainfo(cls.DATASET_NAME,
                             dict(cls.METAINFO, **(metainfo or {})))


@DATASETS.register_module()
class FreiHand3DDataset(HandDatasetBase):
    """FreiHAND in its original layout, for 3-D (or unlabeled) hand pose.

    Each data info holds ``img_path``, ``img_id`` (file number), ``sample_id``
    (annotation index k), ``version``, ``num_annotations`` (N) and
    ``num_versions`` (on disk; image ``k + N * v``) and, with labels, ``K``
    (3, 3), ``keypoints_3d`` (1, 21, 3) metres in the camera frame,
    ``keypoints`` (1, 21, 2) their projections in pixels,
    ``keypoints_visible`` (1, 21), ``bbox`` (1, 4) xyxy around the
    projections and ``bone_length`` (the per-sample ``scale``: length of
    bone 9-10).

    Args:
        data_root (str): FreiHAND root folder.
        split (str): ``'training'`` or ``'evaluation'``.
        versions (Sequence[int], optional): which image versions of the
            training split to use (FreiHAND has 4: v in 0..3, image id
            ``k + N * v``). ``None`` uses all present. The evaluation split
            has one version.
        num_versions (int, optional): versions on disk; inferred from the
            number of images when ``None``.
        subset (int | float, optional): keep this many annotations (int) or
            this fraction of them (float in (0, 1]); all versions of a kept
            annotation are kept. ``None`` keeps all.
        subset_seed (int): seed of the subset draw, so label-scarce
            experiments are reproducible.
        with_labels (bool | str): ``False`` reads images only
            (self-supervised pretraining on FreiHAND without labels);
            ``'camera'`` reads ``K`` and the bone length but no joints (the
            public evaluation split when predicting for the FreiHAND
            server: no ``keypoints``/``bbox``, so crop the whole image).
        peclr_split (str, optional): ``'train'`` or ``'val'``: only that
            part of PeCLR's 90/10 split of the annotations
            (:func:`peclr_split`, all versions of each); ``subset`` then
            draws from it. Training split only.
        ann_root (str, optional): a folder searched before ``data_root`` for
            the annotation files, e.g. where ``FreiHAND_pub_v2_eval.zip``
            was unpacked (it holds ``evaluation_xyz.json``).
    """

    DATASET_NAME = 'freihand3d'

    def __init__(self,
                 data_root: str,
                 split: str = 'training',
                 versions: Optional[Sequence[int]] = None,
                 num_versions: Optional[int] = None,
                 subset: Optional[Union[int, float]] = None,
                 subset_seed: int = 0,
                 with_labels: Union[bool, str] = True,
                 ann_root: Optional[str] = None,
                 peclr_split: Optional[str] = None,
                 **kwargs):
        self.split = split
        self.versions = None if versions is None else list(versions)
        self.num_versions = num_versions
        self.subset = subset
        self.subset_seed = subset_seed
        self.with_labels = with_labels
        self.ann_root = ann_root
        self.peclr_split = peclr_split
        super().__init__(data_root=data_root, **kwargs)

    def _image_dir(self) -> str:
        return osp.join(self.data_root, self.split, 'rgb')

    def _count_versions(self, num_annotations: int) -> int:
        img_dir = self._image_dir()
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'FreiHAND image folder {img_dir} is missing (expected '
                '%08d.jpg files)')
        if self.num_versions is not None:
            return self.num_versions
        names = {
            e.name
            for e in os.scandir(img_dir) if _IMAGE_RE.match(e.name)
        }
        num_images = len(names)
        if num_images == 0 or num_images % num_annotations:
            raise ValueError(
                f'{img_dir} holds {num_images} images named %08d.jpg, not a '
                f'multiple of the {num_annotations} annotations in '
                f'{self.split}_xyz.json (image k + N*v must share annotation '
                'k)')
        missing = [
            f'{i:08d}.jpg' for i in range(num_images)
            if f'{i:08d}.jpg' not in names
        ]
        if missing:
            raise ValueError(
                f'{img_dir} lacks {len(missing)} of the images 00000000.jpg.. '
                f'{num_images - 1:08d}.jpg ({", ".join(missing[:5])}'
                f'{", ..." if len(missing) > 5 else ""}) and holds others '
                'instead')
        return num_images // num_annotations

    def load_data_list(self) -> List[dict]:
        if self.with_labels not in (True, False, 'camera'):
            raise ValueError("with_labels must be True, False or 'camera', "
                             f'got {self.with_labels!r}')
        full = self.with_labels is True
        ann = load_freihand_annotations(
            self.data_root,
            self.split,
            self.ann_root,
            with_xyz=full,
            image_size=_first_image_size(self._image_dir()))
        num = len(ann['K'])
        num_versions = self._count_versions(num)
        versions = self.versions
        if versions is None:
            versions = list(range(num_versions))
        bad = [v for v in versions if not 0 <= v < num_versions]
        if bad:
            raise ValueError(
                f'{self.data_root}: versions {bad} do not exist: '
                f'{self.split}/rgb holds {num_versions} version(s) of '
                f'{num} annotations')
        keep = np.arange(num)
        if self.peclr_split is not None:
            if self.split != 'training':
                raise ValueError('peclr_split divides the training split; '
                                 f'got split={self.split!r}')
            keep = peclr_split(num, self.peclr_split)
        keep = keep[select_subset(len(keep), self.subset, self.subset_seed)]
        if full:
            uv = project(ann['xyz'], ann['K'])
        data_list = []
        img_dir = self._image_dir()
        for v in versions:
            for k in keep:
                img_id = int(k + num * v)
                info = dict(
                    img_path=osp.join(img_dir, f'{img_id:08d}.jpg'),
                    img_id=img_id,
                    sample_id=int(k),
                    version=int(v),
                    num_annotations=int(num),
                    num_versions=int(num_versions),
                    id=img_id,
                    category_id=1)
                if self.with_labels == 'camera':
                    info.update(
                        K=ann['K'][k].astype(np.float32),
                        bone_length=float(ann['scale'][k]))
                elif full:
                    kpts = uv[k].astype(np.float32)
                    lo, hi = kpts.min(0), kpts.max(0)
                    info.update(
                        K=ann['K'][k].astype(np.float32),
                        keypoints_3d=ann['xyz'][k][None].astype(np.float32),
                        keypoints=kpts[None],
                        keypoints_visible=np.ones((1, 21), np.float32),
                        bbox=np.concatenate([lo, hi])[None],
                        bbox_score=np.ones(1, np.float32),
                        bone_length=float(ann['scale'][k]))
                data_list.append(info)
        return data_list
