# Copyright (c) peclr_mm authors. All rights reserved.
"""Everything a checkpoint file goes through, one room each
(docs/design.md section 9):

- :mod:`.loading`: the allow-listed ``weights_only=True`` load for local
  files and mmengine's remote schemes (:func:`safe_torch_load`,
  :data:`SAFE_SCHEMES`, installed by :mod:`peclr_mm.patches`);
- :mod:`.inert`: the ``state_dict`` of a checkpoint that pickles foreign
  objects, read without running them (:func:`load_state_dict_only`);
- :mod:`.compare`: whether weights fit a model, and the words for how they
  do not (:func:`check_checkpoint_matches`, :func:`model_mismatch`);
- :mod:`.saving`: atomic saving (:func:`atomic_save_checkpoint`, installed
  by :mod:`peclr_mm.patches`) and the weights alone of a training
  checkpoint (:func:`strip_checkpoint`).

The conversion of the authors' released weights and the backbone export
live with the key mappings in :mod:`peclr_mm.models.utils.weight_converters`.
"""
from .compare import (check_checkpoint_matches, compare_state_dict,
                      describe_mismatch, model_mismatch)
from .inert import load_state_dict_only
from .loading import (HTTP_PREFIXES, NAMED_PREFIXES, SAFE_GLOBALS,
                      SAFE_SCHEMES, CorruptCheckpointError,
                      UnsafeCheckpointError, fetch_checkpoint,
                      load_from_address_safe, load_from_ceph_safe,
                      load_from_local_safe, load_from_pavi_safe,
                      safe_torch_load)
from .saving import atomic_save_checkpoint, strip_checkpoint

__all__ = [
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'SAFE_GLOBALS',
    'safe_torch_load', 'fetch_checkpoint', 'load_from_local_safe',
    'load_from_address_safe', 'load_from_pavi_safe', 'load_from_ceph_safe',
    'check_checkpoint_matches', 'model_mismatch', 'load_state_dict_only',
    'SAFE_SCHEMES', 'HTTP_PREFIXES', 'NAMED_PREFIXES', 'compare_state_dict',
    'describe_mismatch', 'atomic_save_checkpoint', 'strip_checkpoint'
]
