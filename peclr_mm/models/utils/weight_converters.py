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
so conversion is finding the encoder, renaming the ``features.N`` layout,
dropping everything else (``fc``, heads, projection) and checking the result
against the requested depth.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Tuple

import torch

from ...utils.checkpoint import compare_state_dict

__all__ = [
    'IncompatibleWeightsError', 'resnet_state_dict_shapes',
    'convert_torchvision_resnet'
]

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
    missing, unexpected, shapes = compare_state_dict(state_dict, expected)
    if missing or unexpected or shapes:

        def _list(items):
            more = f' ... (+{len(items) - 8} more)' if len(items) > 8 else ''
            return ', '.join(items[:8]) + more

        raise IncompatibleWeightsError(
            f'not a ResNet-{depth}: {len(missing)} missing keys '
            f'[{_list(missing)}]; {len(unexpected)} unexpected keys '
            f'[{_list(unexpected)}]; {len(shapes)} shape mismatches '
            f'[{_list(shapes)}]')
