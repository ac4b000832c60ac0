# Copyright (c) peclr_mm authors. All rights reserved.
"""Convert the PeCLR authors' released ResNet weights for mmpose's ResNet.

The release (github.com/dahiyaaneesh/peclr) ships three layouts, all with the
weights under ``checkpoint['state_dict']``:

- pretrained encoders ``peclr_rn{50,152}_yt3dh_fh.pth``: a plain torchvision
  ``ResNet`` state dict (``conv1.*``, ``layer1.0.bn1.*``, ``fc.*``);
- fine-tuned models ``rn{50,152}_peclr_yt3d-fh_pt_fh_ft.pth``
  (``RN_25D_wMLPref``): the torchvision ResNet under ``backend_model.``, its
  ``fc`` the 2.5-D output layer, plus ``zroot_ref.*``;
- raw Lightning checkpoints of the pretraining code: ``encoder.features.N.*``
  (an ``nn.Sequential`` of conv1, bn1, relu, maxpool, layer1-4, avgpool),
  ``encoder.final_layer.*`` and ``projection_head.*``.

mmpose's ``ResNet`` (``style='pytorch'``) uses torchvision's parameter names,
so conversion of an encoder is finding it, renaming the ``features.N``
layout, dropping everything else (``fc``, heads, projection) and checking the
result against the depth.

A fine-tuned ``RN_25D_wMLPref`` converts whole (:func:`convert_released_model`)
for the model of ``configs/hand25d/hand25d_resnet{50,152}-peclr-released_
freihand-224.py``: the encoder as ``backbone.*``, the 2.5-D output layer
``backend_model.fc`` as ``head.regressor.0`` and the root MLP
``zroot_ref.zroot_ref`` as ``head.root_refiner``. The release predicts its
joints in its own order (wrist, the five MCPs, PIPs, DIPs, tips; the palm
in the wrist's place); the rows of the output layer and the matching input
columns of the root MLP are permuted into FreiHAND's order
(:data:`RELEASE_JOINT_ORDER`), an exact reordering, and the unused 64th
output is dropped. The head reads the palm in slot 0 (``Hand25DCodec``'s
``root_slot=0``) and recovers the wrist from it.

:func:`export_backbone` writes the encoder of one of our checkpoints for
``init_cfg=dict(type='Pretrained')`` of any config.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Tuple

import torch

from ..utils.io import atomic_write
from .compare import compare_state_dict, describe_mismatch
from .inert import load_state_dict_only
from .loading import safe_torch_load

__all__ = [
    'IncompatibleWeightsError', 'RELEASE_JOINT_ORDER', 'RELEASED_CONFIGS',
    'resnet_state_dict_shapes', 'resnet_depth', 'convert_torchvision_resnet',
    'convert_released_model', 'convert_released_checkpoint', 'export_backbone'
]

#: FreiHAND joint ``j`` is output ``RELEASE_JOINT_ORDER[j]`` of the released
#: model, whose order is wrist (the palm, in fact), the MCPs of thumb, index,
#: middle, ring and pinky, then their PIPs, DIPs and tips.
RELEASE_JOINT_ORDER = (0, 1, 6, 11, 16, 2, 7, 12, 17, 3, 8, 13, 18, 4, 9, 14,
                       19, 5, 10, 15, 20)
#: The configs that load a converted fine-tuned release, by ResNet depth.
RELEASED_CONFIGS = {
    depth:
    'configs/hand25d/'
    f'hand25d_resnet{depth}-peclr-released_freihand-224.py'
    for depth in (50, 152)
}
#: Block counts of the four stages -> depth, for Bottleneck / BasicBlock.
_DEPTHS = {
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
}
_MLP_LINEARS = ('0', '3', '6')
_MLP_NORMS = ('1', '4')

#: ``features.N`` of PeCLR's ``ResNetModel`` -> torchvision module names.
_FEATURES = {
    '0': 'conv1',
    '1': 'bn1',
    '4': 'layer1',
    '5': 'layer2',
    '6': 'layer3',
    '7': 'layer4'
}
_WRAPPERS = ('module.', )


class IncompatibleWeightsError(ValueError):
    """The weights are not those of the requested ResNet."""


def resnet_state_dict_shapes(depth: int) -> Dict[str, torch.Size]:
    """Parameter and buffer shapes of mmpose's ``ResNet(depth=depth)``."""
    from mmpose.models.backbones import ResNet
    with torch.device('meta'):
        model = ResNet(depth=depth)
    return OrderedDict((k, v.shape) for k, v in model.state_dict().items())


def _find_encoder(keys) -> Tuple[str, str]:
    """``(prefix, layout)`` of the ResNet inside a state dict; layout is
    ``'torchvision'`` or ``'features'``."""
    found = []
    for key in keys:
        m = re.match(r'^(.*?)(conv1\.weight|features\.0\.weight)$', key)
        if m is None:
            continue
        prefix, tail = m.groups()
        if tail == 'conv1.weight' and f'{prefix}layer1.0.conv1.weight' in keys:
            found.append((prefix, 'torchvision'))
        elif (tail == 'features.0.weight'
              and f'{prefix}features.4.0.conv1.weight' in keys):
            found.append((prefix, 'features'))
    if not found:
        raise IncompatibleWeightsError(
            'no ResNet found: expected keys like "[prefix]conv1.weight" and '
            '"[prefix]layer1.0.conv1.weight" (torchvision) or '
            '"[prefix]features.0.weight" (PeCLR ResNetModel)')
    if len(found) > 1:
        raise IncompatibleWeightsError(
            f'several ResNets found, under prefixes {[p for p, _ in found]}')
    return found[0]


def _strip_wrappers(key: str) -> str:
    for wrapper in _WRAPPERS:
        while key.startswith(wrapper):
            key = key[len(wrapper):]
    return key


def convert_torchvision_resnet(state_dict: Mapping[str, torch.Tensor],
                               depth: Optional[int] = None) -> OrderedDict:
    """Backbone weights for mmpose's ``ResNet`` from a torchvision-style
    ResNet state dict, in any of the PeCLR release's layouts.

    Args:
        state_dict: the weights (a checkpoint's ``state_dict``); the encoder
            is found under whatever prefix it has (``backend_model.``,
            ``encoder.``, ``model.``, ``module.`` ...).
        depth: when given, the result must match ``ResNet(depth=depth)``
            key for key and shape for shape.

    Returns:
        OrderedDict: keys of mmpose's ``ResNet`` (no prefix).

    Raises:
        IncompatibleWeightsError: no ResNet is found, or the weights do not
            fit the requested depth (the message lists missing, unexpected
            and mis-shaped keys).
    """
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'],
                                                 Mapping):
        state_dict = state_dict['state_dict']
    state_dict = OrderedDict(
        (_strip_wrappers(k), v) for k, v in state_dict.items())
    prefix, layout = _find_encoder(state_dict.keys())
    out = OrderedDict()
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        key = key[len(prefix):]
        if layout == 'features':
            head, _, rest = key.partition('.')
            index, _, rest = rest.partition('.')
            if head != 'features' or index not in _FEATURES:
                continue
            key = f'{_FEATURES[index]}.{rest}'
        elif key.split('.')[0] not in _FEATURES.values():
            continue  # fc and anything else beside the encoder
        out[key] = value
    # torchvision before 0.4.1 saved no BN counters; mmengine would report
    # them missing, and their value is unused in eval and momentum modes.
    for key in [k for k in out if k.endswith('.running_var')]:
        out.setdefault(key[:-len('running_var')] + 'num_batches_tracked',
                       torch.tensor(0, dtype=torch.long))
    if depth is not None:
        _check(out, depth)
    return out


def _check(state_dict: Mapping[str, torch.Tensor], depth: int) -> None:
    try:
        expected = resnet_state_dict_shapes(depth)
    except KeyError:
        raise IncompatibleWeightsError(
            f'invalid ResNet depth {depth}') from None
    mismatch = describe_mismatch(
        *compare_state_dict(state_dict, expected), max_listed=8)
    if mismatch:
        raise IncompatibleWeightsError(f'not a ResNet-{depth}: {mismatch}')


def resnet_depth(encoder: Mapping[str, torch.Tensor]) -> int:
    """The depth of a torchvision-named ResNet from its keys (blocks per
    stage, Bottleneck or BasicBlock).

    Raises:
        IncompatibleWeightsError: the block counts are no standard ResNet's.
    """
    counts = []
    for stage in range(1, 5):
        blocks = {
            int(m.group(1))
            for k in encoder
            for m in [re.match(rf'^layer{stage}\.(\d+)\.', k)] if m
        }
        counts.append(len(blocks))
    key = (tuple(counts), 'layer1.0.conv3.weight' in encoder)
    if key not in _DEPTHS:
        raise IncompatibleWeightsError(
            f'no standard ResNet has {counts} blocks per stage '
            f'({"Bottleneck" if key[1] else "BasicBlock"})')
    return _DEPTHS[key]


def _strip_all(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'],
                                                 Mapping):
        state_dict = state_dict['state_dict']
    return OrderedDict((_strip_wrappers(k), v) for k, v in state_dict.items())


def is_released_model(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Whether the weights are (or claim to be) a fine-tuned
    ``RN_25D_wMLPref``: any key of its root MLP or output layer."""
    keys = _strip_all(state_dict)
    return any(
        k.startswith('zroot_ref.') or k.startswith('backend_model.fc.')
        for k in keys)


def _released_head_shapes(in_channels: int) -> Dict[str, Tuple[int, ...]]:
    shapes = {
        'backend_model.fc.weight': (64, in_channels),
        'backend_model.fc.bias': (64, ),
    }
    dims = {'0': (128, 64), '3': (128, 128), '6': (1, 128)}
    for i in _MLP_LINEARS:
        shapes[f'zroot_ref.zroot_ref.{i}.weight'] = dims[i]
        shapes[f'zroot_ref.zroot_ref.{i}.bias'] = dims[i][:1]
    for i in _MLP_NORMS:
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'zroot_ref.zroot_ref.{i}.{name}'] = (128, )
    return shapes


def convert_released_model(state_dict: Mapping[str, torch.Tensor],
                           depth: Optional[int] = None
                           ) -> Tuple[OrderedDict, int]:
    """The whole fine-tuned ``RN_25D_wMLPref`` for the released-model
    config: ``backbone.*``, ``head.regressor.0.*`` and
    ``head.root_refiner.*``, joints in FreiHAND's order (module docstring).

    Args:
        state_dict: the release's weights (``checkpoint['state_dict']`` or
            the checkpoint itself).
        depth: when given, the encoder must be a ResNet of this depth.

    Returns:
        tuple: the state dict and the ResNet depth found.

    Raises:
        IncompatibleWeightsError: names the missing, unexpected and
            mis-shaped keys of the layout.
    """
    sd = _strip_all(state_dict)
    encoder = OrderedDict((k[len('backend_model.'):], v)
                          for k, v in sd.items()
                          if k.startswith('backend_model.')
                          and not k.startswith('backend_model.fc.'))
    if 'conv1.weight' not in encoder:
        raise IncompatibleWeightsError(
            'a fine-tuned RN_25D_wMLPref keeps its ResNet under '
            '"backend_model." (backend_model.conv1.weight ...), which is '
            'missing')
    found = resnet_depth(encoder)
    if depth is not None and depth != found:
        raise IncompatibleWeightsError(
            f'--depth {depth} given, but the encoder is a ResNet-{found}')
    backbone = convert_torchvision_resnet(encoder, found)
    last = ('layer4.0.conv3.weight' if 'layer4.0.conv3.weight' in backbone else
            'layer4.0.conv2.weight')
    in_channels = backbone[last].shape[0]
    expected = _released_head_shapes(in_channels)
    head = {k: v for k, v in sd.items() if not k.startswith('backend_model.')}
    head.update(
        (k, v) for k, v in sd.items() if k.startswith('backend_model.fc.'))
    # BN counters are not used at test time; torchvision may omit them
    head = {k: v for k, v in head.items() if 'num_batches_tracked' not in k}
    mismatch = describe_mismatch(
        *compare_state_dict(head, expected), max_listed=len(expected))
    if mismatch:
        raise IncompatibleWeightsError(
            'not a fine-tuned RN_25D_wMLPref (output layer '
            f'backend_model.fc 64 x {in_channels}, root MLP '
            f'zroot_ref.zroot_ref 64-128-128-1): {mismatch}')
    order = torch.tensor(RELEASE_JOINT_ORDER)
    rows = (order[:, None] * 3 + torch.arange(3)).flatten()  # (u, v, z_rel)
    cols = torch.cat([
        order, 21 + (order[:, None] * 2 + torch.arange(2)).flatten(),
        torch.tensor([63])
    ])  # z_rel, (x, y), root
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    out['head.regressor.0.weight'] = sd['backend_model.fc.weight'][rows]
    out['head.regressor.0.bias'] = sd['backend_model.fc.bias'][rows]
    for key, value in sd.items():
        if not key.startswith('zroot_ref.zroot_ref.'):
            continue
        index, _, name = key[len('zroot_ref.zroot_ref.'):].partition('.')
        if key == 'zroot_ref.zroot_ref.0.weight':
            value = value[:, cols]
        out[f'head.root_refiner.{index}.{name}'] = value
    for i in _MLP_NORMS:
        out.setdefault(f'head.root_refiner.{i}.num_batches_tracked',
                       torch.tensor(0, dtype=torch.long))
    return out, found


def convert_released_checkpoint(src: str,
                                dst: str,
                                depth: Optional[int] = None,
                                prefix: str = 'backbone.',
                                backbone_only: bool = False) -> dict:
    """Convert a file of the PeCLR release, recognised by its keys, and
    write the result to ``dst`` atomically.

    A fine-tuned ``RN_25D_wMLPref`` gives the whole model
    (:func:`convert_released_model`) unless ``backbone_only``; a pretrained
    encoder (plain or Lightning ``.ckpt``, read without running its
    pickles) gives the backbone under ``prefix``.

    Args:
        src: the released checkpoint.
        dst: output path.
        depth: checked against the depth found, when given.
        prefix: key prefix of a backbone-only output.
        backbone_only: keep only the encoder of a fine-tuned model.

    Returns:
        dict: ``kind`` (``'model'`` or ``'backbone'``), ``depth``,
        ``num_tensors`` and ``config`` (the released-model config of a whole
        model, else None).

    Raises:
        IncompatibleWeightsError: ``src`` fits neither layout; the message
            names the file and what is missing.
    """
    from ..version import __version__

    # PeCLR's PyTorch-Lightning .ckpt files pickle callbacks and
    # hyper-parameters: only their tensors are read, nothing else is run
    ckpt = load_state_dict_only(src)
    try:
        if is_released_model(ckpt) and not backbone_only:
            state_dict, found = convert_released_model(ckpt, depth)
            kind = 'model'
        else:
            weights = convert_torchvision_resnet(ckpt)
            found = resnet_depth(weights)
            if depth is not None and depth != found:
                _check(weights, depth)  # names what differs
            _check(weights, found)
            state_dict = OrderedDict(
                (prefix + k, v) for k, v in weights.items())
            kind = 'backbone'
    except IncompatibleWeightsError as exc:
        raise IncompatibleWeightsError(f'{src}: {exc}') from None
    meta = dict(
        source=osp.basename(src),
        converter=f'peclr_mm {__version__} tools/convert_peclr_weights.py',
        arch=f'mmpose ResNet-{found}' +
        (' + Hand25DHead (released RN_25D_wMLPref)'
         if kind == 'model' else ''),
        prefix='' if kind == 'model' else prefix)
    if kind == 'model':
        meta['joint_order'] = 'FreiHAND (converted from the release order)'
    atomic_write(
        dst,
        lambda name: torch.save(dict(state_dict=state_dict, meta=meta), name))
    return dict(
        kind=kind,
        depth=found,
        num_tensors=len(state_dict),
        config=RELEASED_CONFIGS.get(found) if kind == 'model' else None)


def export_backbone(src: str, dst: str, prefix: str = 'backbone.') -> int:
    """Write the ``prefix`` weights of checkpoint ``src`` (prefix removed)
    to ``dst`` atomically, for ``init_cfg=dict(type='Pretrained')`` of any
    config; return how many tensors.

    Args:
        src: a checkpoint file (e.g. a pretraining run's ``epoch_N.pth``),
            loaded safely on CPU.
        dst: the checkpoint file to write, with ``state_dict`` and
            ``meta`` (source, prefix and the source's epoch, iter,
            mmengine version and seed where it has them).
        prefix: the key prefix of the weights to export.

    Returns:
        int: the number of tensors written.

    Raises:
        ValueError: ``src`` holds no weights under ``prefix``.
    """
    ckpt = safe_torch_load(src, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    out = OrderedDict(
        (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    if not out:
        found = sorted({k.split('.')[0] for k in state})[:8]
        raise ValueError(f'{src}: no weights start with {prefix!r} (top-level '
                         f'names: {", ".join(found)})')
    meta = dict(source=osp.abspath(src), prefix=prefix)
    if isinstance(ckpt.get('meta'), dict):
        for key in ('epoch', 'iter', 'mmengine_version', 'seed'):
            if key in ckpt['meta']:
                meta[key] = ckpt['meta'][key]
    atomic_write(
        dst, lambda name: torch.save(dict(state_dict=out, meta=meta), name))
    return len(out)
