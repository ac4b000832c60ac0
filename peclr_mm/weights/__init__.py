# Copyright (c) peclr_mm authors. All rights reserved.
"""Everything a checkpoint goes through, in one wing (docs/design.md,
"Package layout"), one room per job:

- :mod:`.loading`: the allow-listed ``weights_only=True`` load for local
  files and mmengine's remote schemes (:func:`safe_torch_load`,
  :data:`SAFE_SCHEMES`, installed by :mod:`peclr_mm.patches`), addresses
  cached by a hash of the whole address;
- :mod:`.inert`: the ``state_dict`` of a checkpoint that pickles foreign
  objects, read without running them (:func:`load_state_dict_only`);
- :mod:`.compare`: whether weights fit a model, and the words for how they
  do not (:func:`check_checkpoint_matches`, :func:`model_mismatch`);
- :mod:`.saving`: atomic saving (:func:`atomic_save_checkpoint`, installed
  by :mod:`peclr_mm.patches`) and the weights alone of a training
  checkpoint (:func:`strip_checkpoint`);
- :mod:`.checkpoint_safety`: rotation that never loses the last
  checkpoint, the resume look-up and the work directory's lock (the first
  two installed by :mod:`peclr_mm.patches`);
- :mod:`.converters`: the authors' released weights and torchvision's
  ResNets converted for mmpose's ResNet, and the backbone export;
- :mod:`.download`: the one downloader (whole or nothing, bounded in time
  and size, http(s) redirects only) and SHA-256 of files;
- :mod:`.released`: the released archives, fetched, unpacked, converted
  and checked for the configs that load them;
- :mod:`.names`: config names from ``model-index.yml`` and the configs.
"""
from .checkpoint_safety import (WorkDirBusyError, WorkDirLock,
                                find_latest_checkpoint,
                                save_checkpoint_with_step)
from .compare import (check_checkpoint_matches, compare_state_dict,
                      describe_mismatch, model_mismatch)
from .converters import (IncompatibleWeightsError, convert_released_checkpoint,
                         export_backbone)
from .download import DownloadError, download, sha256_of
from .inert import load_state_dict_only
from .loading import (HTTP_PREFIXES, NAMED_PREFIXES, SAFE_GLOBALS,
                      SAFE_SCHEMES, CorruptCheckpointError,
                      UnsafeCheckpointError, cache_path, fetch_checkpoint,
                      load_from_address_safe, load_from_ceph_safe,
                      load_from_local_safe, load_from_pavi_safe,
                      safe_torch_load)
from .names import UnknownConfigError, find_config, find_weights
from .released import ReleaseError, fetch_released, find_release
from .saving import atomic_save_checkpoint, strip_checkpoint

__all__ = [
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'SAFE_GLOBALS',
    'safe_torch_load', 'fetch_checkpoint', 'cache_path',
    'load_from_local_safe', 'load_from_address_safe', 'load_from_pavi_safe',
    'load_from_ceph_safe', 'check_checkpoint_matches', 'model_mismatch',
    'load_state_dict_only', 'SAFE_SCHEMES', 'HTTP_PREFIXES', 'NAMED_PREFIXES',
    'compare_state_dict', 'describe_mismatch', 'atomic_save_checkpoint',
    'strip_checkpoint', 'WorkDirLock', 'WorkDirBusyError',
    'find_latest_checkpoint', 'save_checkpoint_with_step',
    'IncompatibleWeightsError', 'convert_released_checkpoint',
    'export_backbone', 'DownloadError', 'download', 'sha256_of',
    'UnknownConfigError', 'find_config', 'find_weights', 'ReleaseError',
    'fetch_released', 'find_release'
]
