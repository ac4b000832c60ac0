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

import mmpose
import numpy as np
from mmengine.dataset import BaseDataset
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS

from ..utils.annotations import (load_freihand_annotations, select_subset,
                                 unit_problems)
from ..utils.arrays import image_size_problem
from ..utils.camera import project

__all__ = [
    'FreiHand3DDataset', 'load_freihand_annotations', 'project', 'peclr_split',
    'select_subset', 'HandDatasetBase', 'hand_metainfo', 'HAND_METAINFO',
    'unit_problems', 'count_versions', 'check_image_file',
    'expected_image_size'
]

_IMAGE_RE = re.compile(r'^\d{8}\.jpg$')


def check_image_file(path: str,
                     expected_shape: Optional[Tuple[int, int]] = None
                     ) -> Optional[str]:
    """What is wrong with the image at ``path`` (missing, not a regular
    file, empty, unreadable, corrupt, too small, not ``expected_shape``),
    or ``None`` when it decodes to a usable size.

    Args:
        path: the image file.
        expected_shape: (H, W) the data set expects; None for any.
    """
    import cv2

    from .transforms.loading import image_shape_mismatch, not_regular_file
    problem = not_regular_file(path)
    if problem is not None:
        return problem
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
    return image_size_problem(img.shape) or image_shape_mismatch(
        img.shape, expected_shape)


def image_header_size(path: str) -> Optional[Tuple[int, int]]:
    """(W, H) of an image from its header (Pillow reads no pixels), or
    None when it is not a regular file or cannot be read."""
    from .transforms.loading import not_regular_file
    if not_regular_file(path) is not None or not osp.isfile(path):
        return None
    try:
        from PIL import Image
        with Image.open(path) as img:
            return tuple(int(v) for v in img.size)
    except ImportError:  # no Pillow: decode
        import cv2
        img = cv2.imread(path)
        return None if img is None else (img.shape[1], img.shape[0])
    except Exception:  # Pillow raises several types for bad files
        return None


def expected_image_size(img_dir: str,
                        num: int = 3) -> Optional[Tuple[int, int]]:
    """(W, H) that a FreiHAND-layout image folder's images share: the size
    most of its first ``num`` images (``00000000.jpg`` on) have by their
    headers, the first such on a tie; None when none can be read
    (``check_dataset.py`` names such files). FreiHAND's: 224x224.

    Args:
        img_dir: the ``{split}/rgb`` folder.
        num: how many images to ask.
    """
    sizes = [
        image_header_size(osp.join(img_dir, f'{i:08d}.jpg'))
        for i in range(num)
    ]
    sizes = [s for s in sizes if s is not None]
    if not sizes:
        return None
    return max(sizes, key=sizes.count)


def count_versions(img_dir: str,
                   num_annotations: int,
                   split: str = 'training',
                   num_versions: Optional[int] = None) -> int:
    """How many versions of ``num_annotations`` annotations the FreiHAND
    image folder ``img_dir`` holds (images ``00000000.jpg`` on, ``k + N v``
    sharing annotation ``k``); ``num_versions`` is taken as given.

    Raises:
        FileNotFoundError: the folder is missing.
        ValueError: an image name is not a regular file (a FIFO), the
            count is not a multiple of ``num_annotations`` or names are
            missing.
    """
    if not osp.isdir(img_dir):
        raise FileNotFoundError(
            f'FreiHAND image folder {img_dir} is missing (expected '
            '%08d.jpg files)')
    if num_versions is not None:
        return num_versions
    names = set()
    for entry in os.scandir(img_dir):
        if not _IMAGE_RE.match(entry.name):
            continue
        if not entry.is_file():
            from .transforms.loading import not_regular_file
            raise ValueError(
                f'{entry.path}: '
                f'{not_regular_file(entry.path) or "not a regular file"}'
                ' (a FIFO would block training for ever)')
        names.add(entry.name)
    num_images = len(names)
    if num_images == 0 or num_images % num_annotations:
        raise ValueError(
            f'{img_dir} holds {num_images} images named %08d.jpg, not a '
            f'multiple of the {num_annotations} annotations in '
            f'{split}_xyz.json (image k + N*v must share annotation k)')
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


#: FreiHAND's 21-joint hand definition (mmpose's dataset info file).
HAND_METAINFO = dict(
    from_file=osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets',
        'freihand2d.py'))


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

    def __init__(self, *args, **kwargs):
        root = kwargs.get('data_root', '')
        if not isinstance(root, (str, os.PathLike)):
            raise ValueError(
                f'{type(self).__name__}: data_root must be the data set\'s '
                f'folder (a path), got {root!r}; set it in the config, e.g. '
                '--cfg-options train_dataloader.dataset.data_root=PATH')
        kwargs['data_root'] = os.fspath(root)
        super().__init__(*args, **kwargs)

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
    bone 9-10). Every data info also holds ``expected_img_shape`` (H, W),
    the size the images share (:func:`expected_image_size`) and the
    cameras are checked against, which ``LoadHandImage`` holds each
    decoded image to, and ``is_left`` (``hand='left'``).

    A left-hand set (``hand='left'``) is read as it is: each sample is
    flagged ``is_left``, so ``HandCanonicalCrop`` crops the image mirrored
    as ``cv2.flip(img, 1)`` would (column ``u -> W - 1 - u``) into the right
    hand the models learn, and the pose estimator maps its predictions back
    into the set's own (left) frame, where the metric compares them with
    the set's joints. The scores are those of a mirrored copy (images
    flipped, ``x -> -x``, ``K -> mirror_intrinsics(K, W)``) read with
    ``hand='right'``.

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
        hand (str): ``'right'`` (FreiHAND) or ``'left'``: which hand the
            set's images show.
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
                 hand: str = 'right',
                 **kwargs):
        if hand not in ('right', 'left'):
            raise ValueError(
                f"FreiHand3DDataset: hand must be 'right' or 'left', got "
                f'{hand!r}')
        self.hand = hand
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
        return count_versions(self._image_dir(), num_annotations, self.split,
                              self.num_versions)

    def load_data_list(self) -> List[dict]:
        if self.with_labels not in (True, False, 'camera'):
            raise ValueError("with_labels must be True, False or 'camera', "
                             f'got {self.with_labels!r}')
        full = self.with_labels is True
        img_dir = self._image_dir()
        size = expected_image_size(img_dir) if osp.isdir(img_dir) else None
        ann = load_freihand_annotations(
            self.data_root,
            self.split,
            self.ann_root,
            with_xyz=full,
            image_size=size)
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
        shape = None if size is None else (size[1], size[0])
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
                    category_id=1,
                    expected_img_shape=shape,
                    is_left=self.hand == 'left')
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
