# Copyright (c) peclr_mm authors. All rights reserved.
"""Image loading that names the file and the fault."""
import os
import os.path as osp
import stat
import weakref
from typing import Optional, Sequence

import numpy as np
from mmpose.datasets.transforms import LoadImage
from mmpose.registry import TRANSFORMS

from ...utils.arrays import image_size_problem

__all__ = [
    'LoadHandImage', 'LoadRandomVersion', 'LoadSimilarHand',
    'not_regular_file', 'image_shape_mismatch'
]

#: The images the caching loaders of this process keep, found by path and
#: decoding settings; an entry lives while a loader still holds it.
_KEPT: 'weakref.WeakValueDictionary' = weakref.WeakValueDictionary()

_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'),
          (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'))


def not_regular_file(path: str) -> Optional[str]:
    """What ``path`` is when it exists but is not a regular file (a FIFO,
    which blocks whoever opens it until a writer comes; a directory; a
    device), as ``'not a regular file (a FIFO)'``; ``None`` for a regular
    file (or a link to one), a path that does not exist (the reader says
    it is missing) and a URL. Decided by ``os.stat``: nothing is opened.

    Args:
        path: the file's path.

    Returns:
        str | None: the problem, or None.
    """
    if '://' in path:
        return None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f'cannot be inspected ({exc.strerror})'
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), 'special')
    return f'not a regular file ({kind}); images must be regular files'


def image_shape_mismatch(shape: Sequence[int],
                         expected: Optional[Sequence[int]]) -> Optional[str]:
    """``'is WxH px, its data set expects W'xH' px ...'`` when an image of
    ``shape`` (H, W, ...) is not the ``expected`` (H, W), else None (also
    when nothing is expected).

    Args:
        shape: the decoded (or header's) image shape, (H, W, ...).
        expected: (H, W) the annotations assume, or None.
    """
    if expected is None:
        return None
    h, w = int(shape[0]), int(shape[1])
    eh, ew = int(expected[0]), int(expected[1])
    if (h, w) == (eh, ew):
        return None
    return (f'is {w}x{h} px, but its data set expects {ew}x{eh} px (the '
            'size its cameras K and crops assume; FreiHAND\'s are 224x224)')


@TRANSFORMS.register_module()
class LoadHandImage(LoadImage):
    """mmpose's ``LoadImage`` with errors that say what is wrong.

    mmpose answers every failure with "Please check whether the file
    exists", also for a file that exists but cannot be decoded (a truncated
    download, a zero-byte file). This one raises ``FileNotFoundError`` for a
    missing file and ``OSError("corrupt or unreadable image FILE ...")`` for
    one that does not decode, and refuses images under ``MIN_IMAGE_SIDE``
    (32) pixels a side. A path that is not a regular file (a FIFO, which
    would block the loader forever, a directory) is refused by its name
    before anything opens it. A sample that says which size its data set
    expects (``expected_img_shape``, (H, W), from ``FreiHand3DDataset``:
    the size its ``K`` and crops assume) is refused, naming the file, its
    size and the expected one, when its image has another size.
    ``tools/misc/check_dataset.py`` finds all such files of a data set
    before training.

    With ``cache_mib`` the decoded images are kept in this process's
    memory, up to that many MiB (first come, first kept), so a data set that
    fits is decoded once rather than once per epoch (loaded in the main
    process, as the CPU configs do, or by persistent workers, each with its
    own cache). Caching loaders of one process share what they keep (the
    two views' loaders of a pair hold one copy of an image, each counting
    it in its own budget; it is freed with the last of them). A kept image
    is returned read-only: a later transform that wrote into it in place
    would fail instead of changing the cache.

    Required keys: ``img_path`` (or ``img``); optional
    ``expected_img_shape``. Added keys: ``img``, ``img_shape``,
    ``ori_shape``.

    Args:
        cache_mib (float): memory for decoded images, MiB; 0 keeps none.
        **kwargs: mmpose ``LoadImage``'s arguments.
    """

    def __init__(self, cache_mib: float = 0., **kwargs):
        super().__init__(**kwargs)
        if not cache_mib >= 0:
            raise ValueError(f'{self.__class__.__name__}: cache_mib must be '
                             f'>= 0, got {cache_mib}')
        self.cache_mib = float(cache_mib)
        self._cache: dict = {}
        self._cached_bytes = 0

    def _keep(self, path: str, img: np.ndarray) -> None:
        """Keep ``img`` if it fits this instance's budget, and make it
        findable by the process's other caching loaders."""
        if self._cached_bytes + img.nbytes <= self.cache_mib * 2**20:
            img.setflags(write=False)
            self._cache[path] = img
            self._cached_bytes += img.nbytes
            _KEPT[self._key(path)] = img

    def _key(self, path: str) -> tuple:
        return (path, self.color_type, self.imdecode_backend, self.to_float32)

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('img_path')
        if self.cache_mib and 'img' not in results and path is not None:
            img = self._cache.get(path)
            if img is None:
                # decoded and kept by another loader of this process (the
                # other view's): no second copy, no second decode
                img = _KEPT.get(self._key(path))
                if img is not None:
                    self._keep(path, img)
            if img is not None:
                self._check_shape(results, img.shape)
                results['img'] = img
                results['img_shape'] = results['ori_shape'] = img.shape[:2]
                return results
        decoded = 'img' not in results and path is not None
        out = self._load(results)
        if self.cache_mib and decoded and out is not None:
            self._keep(path, out['img'])
        return out

    @staticmethod
    def _check_shape(results: dict, shape: Sequence[int]) -> None:
        """Refuse an image of ``shape`` that is too small or not the size
        the sample's data set expects, naming the file."""
        problem = image_size_problem(shape) or image_shape_mismatch(
            shape, results.get('expected_img_shape'))
        if problem is not None:
            raise OSError(
                f'image {results.get("img_path") or "<array>"}: {problem}')

    def _load(self, results: dict) -> Optional[dict]:
        """Decode ``img_path`` (or check a given ``img``), with errors that
        name the file."""
        path = results.get('img_path')
        if 'img' in results or path is None:
            out = super().transform(results)
            self._check_shape(out, out['img'].shape)
            return out
        problem = not_regular_file(path)
        if problem is not None:  # opening a FIFO would block for ever
            raise OSError(f'image {path}: {problem}')
        try:
            out = super().transform(results)
        except Exception as exc:  # mmcv raises several types
            # only on failure: no extra file-system call per loaded image
            if '://' not in path and not osp.isfile(path):
                raise FileNotFoundError(
                    f'image {path} does not exist') from exc
            cause = str(exc).split('` occurs when loading')[0].strip('`')
            raise OSError(f'corrupt or unreadable image {path} ({cause}); '
                          'tools/misc/check_dataset.py lists every such '
                          'file of a data set') from exc
        if out is None and not self.ignore_empty:
            raise OSError(f'corrupt or unreadable image {path}')
        if out is not None:
            self._check_shape(out, out['img'].shape)
        return out

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, cache_mib={self.cache_mib})')


def _check_version_keys(results: dict, name: str) -> None:
    """Refuse a sample without what finding another image of its data set
    needs (``FreiHand3DDataset``'s data infos carry it)."""
    missing = [
        k for k in ('img_path', 'sample_id', 'num_annotations', 'num_versions')
        if k not in results
    ]
    if missing:
        raise KeyError(f'{name} needs {missing} in the sample (the data '
                       'infos of FreiHand3DDataset carry them); got keys '
                       f'{sorted(results)}')


def _version_image(results: dict, sample_id: int, version: int) -> dict:
    """A copy of ``results`` that names annotation ``sample_id``'s image in
    ``version`` (FreiHAND's layout: image ``k + N v`` in the same folder),
    the decoded image dropped."""
    img_id = int(sample_id) + int(results['num_annotations']) * int(version)
    results = dict(results)
    results.pop('img', None)
    results.update(
        img_path=osp.join(
            osp.dirname(results['img_path']), f'{img_id:08d}.jpg'),
        img_id=img_id,
        version=int(version))
    return results


@TRANSFORMS.register_module()
class LoadRandomVersion(LoadHandImage):
    """Replace the image by a random version of the same hand.

    FreiHAND stores each training hand in ``V`` versions: the same pose,
    camera and hand mask composited on other backgrounds in other colours,
    image ``k + N * v`` of ``training/rgb`` (the synthetic generator writes
    the same layout). As the first transform of
    ``MultiViewWithGeometry``'s view pipeline, each view draws its own
    version, so the two views of a contrastive pair share the hand and its
    geometry (the recorded warps stay exact) but not the background.
    Without it, a pair's shared background is the cheapest way to tell it
    from the others, and the features learn the picture rather than the
    hand (``docs/results/pretrain_probe.md``). Not part of the paper's
    recipe; an option for data sets that have versions.

    Required keys: ``img_path``, ``sample_id``, ``num_annotations``,
    ``num_versions`` (``FreiHand3DDataset`` data infos). Modified keys:
    ``img``, ``img_path``, ``img_id``, ``version``, ``img_shape``,
    ``ori_shape``.

    Args:
        prob (float): probability of drawing a version (else the image is
            kept). The draw includes the current version.
        **kwargs: ``LoadHandImage``'s (mmpose ``LoadImage``'s) arguments.
    """

    def __init__(self, prob: float = 1., **kwargs):
        super().__init__(**kwargs)
        if not 0. <= prob <= 1.:
            raise ValueError(f'LoadRandomVersion: prob must be in [0, 1], '
                             f'got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> Optional[dict]:
        _check_version_keys(results, type(self).__name__)
        if np.random.rand() >= self.prob:
            return results
        v = int(np.random.randint(results['num_versions']))
        return super().transform(
            _version_image(results, results['sample_id'], v))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class LoadSimilarHand(LoadHandImage):
    """SiMHand's positive: replace the sample by one of its mined similar
    hands (``tools/mine_similar_hands.py``), a different image of a hand in
    an alike 2-D pose; with ``partner=False`` keep the sample's hand and
    record its own pose (the pair's first view).

    As the first transform of the second view's pipeline of
    ``MultiViewWithGeometry`` (one pipeline per view), view 2 is a random
    one of the ``k`` nearest hands, in a random version of its image; each
    view is then cropped around its own hand and records its own geometry
    as always. Both views record ``pose_2d``, their hand's pose descriptor
    (``peclr_mm.datasets.similar_hands.pose_descriptor`` of the mined 2-D
    joints), which the packer carries for the loss's pose-distance weights.

    Required keys: ``img_path``, ``sample_id``, ``num_annotations``,
    ``num_versions`` (``FreiHand3DDataset`` data infos). Modified keys:
    ``img``, ``img_path``, ``img_id``, ``version``, ``img_shape``,
    ``ori_shape``; with ``partner=True`` also ``sample_id``, ``keypoints``
    (the partner's mined joints), ``keypoints_visible``; the sample's own
    ``bbox``, ``K`` and 3-D joints are dropped (they are another hand's).
    Added keys: ``pose_2d`` (21, 2), ``partner_distance`` (with
    ``partner=True``, the mined distance in palm lengths).

    Args:
        similar_file (str): the ``.npz`` of the mining tool, for this data
            set's annotations (with the mined ``poses``).
        k (int): draw among the ``k`` nearest (at most the file's).
        partner (bool): replace the sample (view 2) or keep its hand
            (view 1).
        random_version (bool): a random version of the image (the
            partner's, or with ``partner=False`` the sample's own), as
            ``LoadRandomVersion``; else version 0.
        **kwargs: ``LoadHandImage``'s arguments.
    """

    def __init__(self,
                 similar_file: str,
                 k: int = 8,
                 partner: bool = True,
                 random_version: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        if k < 1:
            raise ValueError(f'LoadSimilarHand: k must be >= 1, got {k}')
        self.similar_file = similar_file
        self.k = int(k)
        self.partner = bool(partner)
        self.random_version = bool(random_version)
        self._mined = None

    def _load_mined(self) -> dict:
        if self._mined is None:  # once per process
            from ..similar_hands import load_similar_hands, pose_descriptor
            mined = load_similar_hands(
                self.similar_file, k=self.k if self.partner else None)
            if 'poses' not in mined:
                raise ValueError(f'{self.similar_file}: field \'poses\' '
                                 '(the mined 2-D joints) is missing; mine '
                                 'again with tools/mine_similar_hands.py')
            mined['descriptors'] = pose_descriptor(mined['poses'])
            self._mined = mined
        return self._mined

    def transform(self, results: dict) -> Optional[dict]:
        _check_version_keys(results, type(self).__name__)
        mined = self._load_mined()
        n = int(results['num_annotations'])
        if len(mined['index']) != n:
            raise ValueError(f'{self.similar_file}: mined for '
                             f'{len(mined["index"])} annotations, the data '
                             f'set has {n}')
        i = int(results['sample_id'])
        v = int(np.random.randint(
            results['num_versions'])) if self.random_version else 0
        if not self.partner:
            # the sample's own hand, in a random version of its image
            results = _version_image(results, i, v)
            results['pose_2d'] = mined['descriptors'][i].astype(np.float32)
            return super().transform(results)
        slot = int(np.random.randint(min(self.k, mined['index'].shape[1])))
        j = int(mined['index'][i, slot])
        results = _version_image(results, j, v)
        for key in ('bbox', 'K', 'keypoints_3d'):
            results.pop(key, None)
        results.update(
            sample_id=j,
            keypoints=mined['poses'][j][None].astype(np.float32),
            keypoints_visible=np.ones((1, 21), np.float32),
            pose_2d=mined['descriptors'][j].astype(np.float32),
            partner_distance=float(mined['distance'][i, slot]))
        return super().transform(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(similar_file='
                f'{self.similar_file!r}, k={self.k}, partner={self.partner}, '
                f'random_version={self.random_version})')
