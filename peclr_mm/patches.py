# Copyright (c) peclr_mm authors. All rights reserved.
"""Everything ``import peclr_mm`` changes in the OpenMMLab stack, and why.

Importing the package (directly or through a config's
``custom_imports=dict(imports=['peclr_mm'])``) registers its modules into
mmpose's registries, which changes nothing that exists, and calls
:func:`apply`, which replaces five things in mmengine 0.10.7:

1. **Checkpoint loading** (``mmengine.runner.checkpoint.CheckpointLoader``,
   every scheme): mmengine calls ``torch.load`` without ``weights_only``
   (torch >= 2.6 then refuses mmengine's own checkpoints) and loads
   addresses (``http(s)://``, ``torchvision://``, ``open-mmlab://``, ...)
   with ``weights_only=False``, so a pickle from an address runs its code.
   The replacements (:data:`peclr_mm.weights.loading.SAFE_SCHEMES`) load
   with ``weights_only=True`` and an allow-list of exactly what mmengine
   writes, downloading addresses into the hub cache first.
2. **Checkpoint saving** (``mmengine.runner.runner.save_checkpoint``):
   mmengine writes straight to ``epoch_N.pth``, so a run killed while
   saving leaves a truncated file that ``--resume`` fails on;
   :func:`peclr_mm.weights.saving.atomic_save_checkpoint` writes
   ``NAME.tmp`` and renames it into place.
3. **The pytorch launcher** (``mmengine.dist.utils._init_dist_pytorch``):
   mmengine calls ``torch.cuda.set_device`` unconditionally, so
   ``torchrun ... --launcher pytorch`` cannot start on CPU-only machines;
   :func:`peclr_mm.engine.cpu_dist.init_dist_pytorch_cpu_aware` initialises
   gloo there and defers to mmengine otherwise.
4. **Checkpoint rotation** (``CheckpointHook._save_checkpoint_with_step``):
   mmengine removes the oldest checkpoint before the new one is written
   (with ``max_keep_ckpts=1`` a kill while saving leaves none) and
   truncates ``last_checkpoint`` before writing it;
   :func:`peclr_mm.weights.checkpoint_safety.save_checkpoint_with_step`
   writes the new checkpoint and ``last_checkpoint`` (atomically) first.
5. **Finding the checkpoint to resume**
   (``mmengine.runner.runner.find_latest_checkpoint``): mmengine trusts
   ``last_checkpoint`` even when it is empty or names a missing file;
   :func:`peclr_mm.weights.checkpoint_safety.find_latest_checkpoint` falls
   back to the newest ``epoch_N.pth`` / ``iter_N.pth`` with a warning.

:func:`applied` reports whether each is in force.

Why at import and not where needed: a stock runner started from a config
(``tools/train.py``, ``mim train``, ``custom_imports``) reaches mmengine's
functions with no call of this package in between, so the import is the
only place all five can take effect; and each is a repair, not a change of
behaviour a caller could want undone (loading refuses only what would run
code, saving and rotation write the same files in a safer order, the
resume look-up answers where mmengine gives up, the launcher defers to
mmengine wherever CUDA is present).
"""
from typing import Dict

__all__ = ['apply', 'applied']


def apply() -> None:
    """Install the five replacements (idempotent)."""
    import mmengine.runner.runner as runner_module
    from mmengine.dist import utils as dist_utils
    from mmengine.hooks import CheckpointHook
    from mmengine.runner.checkpoint import CheckpointLoader

    from .engine.cpu_dist import init_dist_pytorch_cpu_aware
    from .weights.checkpoint_safety import (find_latest_checkpoint,
                                            save_checkpoint_with_step)
    from .weights.loading import SAFE_SCHEMES
    from .weights.saving import atomic_save_checkpoint
    for prefix, loader in SAFE_SCHEMES.items():
        CheckpointLoader.register_scheme(prefix, loader, force=True)
    runner_module.save_checkpoint = atomic_save_checkpoint
    dist_utils._init_dist_pytorch = init_dist_pytorch_cpu_aware
    CheckpointHook._save_checkpoint_with_step = save_checkpoint_with_step
    runner_module.find_latest_checkpoint = find_latest_checkpoint


def applied() -> Dict[str, bool]:
    """Whether each replacement of :func:`apply` is in force."""
    import mmengine.runner.runner as runner_module
    from mmengine.dist import utils as dist_utils
    from mmengine.hooks import CheckpointHook
    from mmengine.runner.checkpoint import CheckpointLoader

    from .engine.cpu_dist import init_dist_pytorch_cpu_aware
    from .weights.checkpoint_safety import (find_latest_checkpoint,
                                            save_checkpoint_with_step)
    from .weights.loading import SAFE_SCHEMES
    from .weights.saving import atomic_save_checkpoint
    schemes = CheckpointLoader._schemes
    return dict(
        checkpoint_rotation=(CheckpointHook._save_checkpoint_with_step
                             is save_checkpoint_with_step),
        resume_lookup=(runner_module.find_latest_checkpoint
                       is find_latest_checkpoint),
        checkpoint_loading=all(
            schemes.get(p) is loader for p, loader in SAFE_SCHEMES.items()),
        checkpoint_saving=(runner_module.save_checkpoint
                           is atomic_save_checkpoint),
        pytorch_launcher=(dist_utils._init_dist_pytorch
                          is init_dist_pytorch_cpu_aware))
