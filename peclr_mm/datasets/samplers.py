# Copyright (c) peclr_mm authors. All rights reserved.
"""PeCLR's balanced mixing of unlabeled sources."""
import math
from typing import Iterator, Optional

import numpy as np
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from mmpose.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

__all__ = ['BalancedSourceSampler']


@DATA_SAMPLERS.register_module()
class BalancedSourceSampler(Sampler):
    """Draw each dataset of a ``ConcatDataset`` about equally often.

    Every index is drawn with probability ``w_d / len(d)`` for its source
    ``d`` (``w`` = ``source_weights``, equal by default), with replacement,
    as PyTorch's ``WeightedRandomSampler`` did in PeCLR. Each process draws
    its own share of the epoch from a seed shared by all processes.

    Args:
        dataset (ConcatDataset): the sources.
        num_samples (int, optional): samples per epoch over all processes;
            defaults to the total length.
        source_weights (list, optional): relative weight of each source.
        seed (int, optional): random seed, synchronised across processes.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 num_samples: Optional[int] = None,
                 source_weights: Optional[list] = None,
                 seed: Optional[int] = None):
        if not hasattr(dataset, 'cumulative_sizes'):
            raise TypeError('BalancedSourceSampler needs a ConcatDataset of '
                            f'the sources, got {type(dataset).__name__}')
        sizes = np.diff([0] + list(dataset.cumulative_sizes))
        weights = np.ones(len(sizes)) if source_weights is None else \
            np.asarray(source_weights, dtype=np.float64)
        if len(weights) != len(sizes) or np.any(weights < 0) or \
                weights.sum() == 0:
            raise ValueError(f'source_weights {source_weights} do not fit '
                             f'{len(sizes)} sources')
        if np.any(sizes == 0):
            raise ValueError(f'a source is empty (sizes {sizes.tolist()})')
        self.rank, self.world_size = get_dist_info()
        self.total = int(num_samples or sizes.sum())
        self.num_samples = math.ceil(self.total / self.world_size)
        self.p = np.repeat(weights / weights.sum() / sizes, sizes)
        self.p /= self.p.sum()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(self.seed + self.epoch)
        draws = rng.choice(
            len(self.p), size=self.num_samples * self.world_size, p=self.p)
        return iter(draws[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
