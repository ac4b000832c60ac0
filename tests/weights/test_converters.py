# Copyright (c) peclr_mm authors. All rights reserved.
import importlib.util
import os
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torchvision
from mmpose.models.backbones import ResNet
from torch import nn

from peclr_mm.weights.converters import (IncompatibleWeightsError,
                                         convert_torchvision_resnet)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'convert_peclr_weights',
        osp.join(ROOT, 'tools', 'convert_peclr_weights.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tv_resnet50():
    """A random torchvision ResNet-50 with non-trivial BN statistics."""
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


def tv_layer4(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    for name in ('layer1', 'layer2', 'layer3', 'layer4'):
        x = getattr(model, name)(x)
    return x


def released_layouts(model):
    """The three layouts of the PeCLR release (see
    peclr_mm.weights.converters)."""
    sd = model.state_dict()
    plain = OrderedDict(sd)
    finetuned = OrderedDict(('backend_model.' + k, v) for k, v in sd.items())
    finetuned['backend_model.fc.weight'] = torch.randn(64, 2048)
    finetuned['backend_model.fc.bias'] = torch.randn(64)
    finetuned['zroot_ref.zroot_ref.0.weight'] = torch.randn(128, 64)
    index = {
        'conv1': 0,
        'bn1': 1,
        'layer1': 4,
        'layer2': 5,
        'layer3': 6,
        'layer4': 7
    }
    lightning = OrderedDict()
    for k, v in sd.items():
        head, _, rest = k.partition('.')
        if head in index:
            lightning[f'module.encoder.features.{index[head]}.{rest}'] = v
    lightning['module.encoder.final_layer.0.weight'] = torch.randn(64, 2048)
    lightning['module.projection_head.0.weight'] = torch.randn(512, 2048)
    return dict(plain=plain, finetuned=finetuned, lightning=lightning)


@pytest.mark.parametrize('layout', ['plain', 'finetuned', 'lightning'])
def test_converted_resnet50_gives_identical_features(tv_resnet50, layout):
    src = {'state_dict': released_layouts(tv_resnet50)[layout]}
    converted = convert_torchvision_resnet(src, depth=50)
    assert not any(k.startswith('fc.') for k in converted)
    mm = ResNet(depth=50)
    mm.load_state_dict(converted, strict=True)
    mm.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = tv_layer4(tv_resnet50, x)
        out = mm(x)[-1]
    assert out.shape == expected.shape == (2, 2048, 2, 2)
    assert torch.allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('layout', ['plain', 'finetuned'])
def test_tool_output_loads_with_pretrained_init_cfg(tv_resnet50, tmp_path,
                                                    layout):
    """A released encoder (the depth found from its keys) and, with
    --backbone-only, the encoder of a fine-tuned model."""
    src, dst = str(tmp_path / 'peclr_rn50.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': released_layouts(tv_resnet50)[layout]}, src)
    extra = ['--backbone-only'] if layout == 'finetuned' else []
    assert load_tool().main([src, dst] + extra) == 0
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert all(k.startswith('backbone.') for k in ckpt['state_dict'])
    assert ckpt['meta']['source'] == 'peclr_rn50.pth'
    mm = ResNet(
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint=dst, prefix='backbone.'))
    mm.init_weights()
    mm.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(mm(x)[-1], tv_layer4(tv_resnet50, x), atol=1e-5)


def test_refuses_other_depths_and_non_resnets(tv_resnet50, tmp_path, capsys):
    rn18 = torchvision.models.resnet18(weights=None).state_dict()
    with pytest.raises(
            IncompatibleWeightsError,
            match=r'not a ResNet-50: \d+ missing: '
            r'.*layer1\.0\.conv3\.weight.*mis-shaped: '
            r'layer1\.0\.conv1\.weight \(64, 64, 3, 3\) != \(64, 64, 1, 1\)'):
        convert_torchvision_resnet(rn18, depth=50)
    with pytest.raises(
            IncompatibleWeightsError,
            match=r'not a ResNet-101: \d+ missing.*layer3\.6'):
        convert_torchvision_resnet(tv_resnet50.state_dict(), depth=101)
    with pytest.raises(IncompatibleWeightsError, match='no ResNet found'):
        convert_torchvision_resnet({'encoder.0.weight': torch.zeros(3)})
    bad = dict(tv_resnet50.state_dict())
    bad['layer4.0.conv2.weight'] = torch.zeros(512, 512, 1, 1)
    with pytest.raises(
            IncompatibleWeightsError,
            match=r'1 mis-shaped: layer4\.0\.conv2\.weight'):
        convert_torchvision_resnet(bad, depth=50)
    # the tool names the file and the keys, and writes nothing
    src, dst = str(tmp_path / 'rn18.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': rn18}, src)
    assert load_tool().main([src, dst, '--depth', '50']) == 2
    err = capsys.readouterr().err
    assert src in err and ' missing: ' in err and ' mis-shaped: ' in err
    assert not osp.exists(dst)


def test_tool_names_a_truncated_checkpoint(tmp_path, capsys):
    """An error line naming the file, not a traceback."""
    src, dst = str(tmp_path / 'cut.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': torchvision.models.resnet18().state_dict()}, src)
    with open(src, 'r+b') as f:
        f.truncate(os.path.getsize(src) // 3)
    assert load_tool().main([src, dst, '--depth', '18']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'cut.pth' in err
    assert 'truncated' in err or 'damaged' in err
    assert not osp.exists(dst)


class _Callback:
    """Unpickling runs ``open(marker, 'w')``: a stand-in for the callback
    classes a Lightning checkpoint pickles, made hostile."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


class _AttributeDict(dict):
    pass


def test_lightning_ckpt_converts_without_running_its_pickles(tmp_path):
    from peclr_mm.weights import UnsafeCheckpointError
    rn18 = torchvision.models.resnet18(weights=None)
    marker = tmp_path / 'ran'
    src, dst = str(tmp_path / 'peclr.ckpt'), str(tmp_path / 'out.pth')
    torch.save(
        {
            'epoch': 99,
            'pytorch-lightning_version': '1.2.0',
            'state_dict': released_layouts(rn18)['lightning'],
            'callbacks': {
                _Callback: _Callback(str(marker))
            },
            'hyper_parameters': _AttributeDict(lr=1e-4, batch_size=128),
            'optimizer_states': [{
                'state': {},
                'param_groups': []
            }],
        }, src)
    with pytest.raises(UnsafeCheckpointError):
        load_tool().loading.safe_torch_load(src)
    assert load_tool().main([src, dst, '--depth', '18']) == 0
    assert not marker.exists()
    model = ResNet(
        18,
        init_cfg=dict(type='Pretrained', checkpoint=dst, prefix='backbone.'))
    model.init_weights()
    model.eval()
    rn18.eval()
    x = torch.randn(1, 3, 64, 64)
    ref = rn18.layer4(
        rn18.layer3(
            rn18.layer2(
                rn18.layer1(rn18.maxpool(rn18.relu(rn18.bn1(
                    rn18.conv1(x))))))))
    torch.testing.assert_close(model(x)[-1], ref, atol=1e-5, rtol=1e-5)


def test_released_model_converts_whole(tmp_path, capsys):
    """A fine-tuned RN_25D_wMLPref converts to the whole model of the
    released-model config, which predicts the joints of the release's own
    forward pass (reordered to FreiHAND's, the wrist from the palm)."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS

    from peclr_mm.weights.converters import RELEASE_JOINT_ORDER
    from projects.released_parity.released_parity import (RELEASE_NAMES,
                                                          TO_FREIHAND,
                                                          ReleaseStandIn,
                                                          save_release_layout)
    assert tuple(TO_FREIHAND) == RELEASE_JOINT_ORDER
    torch.manual_seed(0)
    standin = ReleaseStandIn(50)
    with torch.no_grad():  # a plausible hand in crop pixels, bone units
        fc = standin.backend_model.fc
        fc.weight.mul_(20.)
        fc.bias[:63] = torch.stack([
            112 + 30 * torch.randn(21), 112 + 30 * torch.randn(21),
            0.5 * torch.randn(21)
        ], 1).flatten()
        for i in (1, 4):
            bn = standin.zroot_ref.zroot_ref[i]
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.)
    standin.eval()
    src, dst = str(tmp_path / 'rn50_peclr_ft.pth'), str(tmp_path / 'out.pth')
    save_release_layout(standin, src)
    assert load_tool().main([src, dst]) == 0
    cfg_name = 'hand25d_resnet50-peclr-released_freihand-224.py'
    assert cfg_name in capsys.readouterr().out
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'hand25d', cfg_name))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, dst, strict=True)
    model.eval()
    x = torch.randn(2, 3, 224, 224)
    K = torch.tensor([[[900., 0., 100.], [0., 880., 120.], [0., 0., 1.]],
                      [[1200., 0., 130.], [0., 1210., 95.], [0., 0., 1.]]])
    with torch.no_grad():
        ours = model.head.predict_joints(
            model.extract_feat(x), K, torch.ones(2))
        ref = standin(x, K)
    kp3d = ref['kp3d'].clone()
    kp3d[:, 0] = 2 * kp3d[:, 0] - kp3d[:, RELEASE_NAMES.index('middle_mcp')]
    torch.testing.assert_close(
        ours['keypoints_3d'], kp3d[:, TO_FREIHAND], atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(
        ours['keypoints_regressed'],
        ref['kp25d'][:, TO_FREIHAND, :2],
        atol=1e-3,
        rtol=1e-5)


def test_released_model_refusals(tv_resnet50, tmp_path, capsys):
    """A fine-tuned layout with parts missing, or of another depth than
    --depth, is refused naming what is wrong; nothing is written."""
    src, dst = str(tmp_path / 'partial.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': released_layouts(tv_resnet50)['finetuned']}, src)
    assert load_tool().main([src, dst]) == 2
    err = capsys.readouterr().err
    assert 'partial.pth' in err and 'not a fine-tuned RN_25D_wMLPref' in err
    assert 'missing' in err and 'zroot_ref.zroot_ref.1.weight' in err
    assert not osp.exists(dst)
    plain = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': tv_resnet50.state_dict()}, plain)
    assert load_tool().main([plain, dst, '--depth', '152']) == 2
    err = capsys.readouterr().err
    assert 'not a ResNet-152' in err and not osp.exists(dst)


def test_tool_never_writes_over_its_input_or_a_file(tv_resnet50, tmp_path,
                                                    capsys):
    """SRC SRC is refused even with --overwrite (also through a symbolic
    link); an existing DST only with --overwrite; exit 2, one line."""
    src = str(tmp_path / 'peclr_rn50.pth')
    torch.save({'state_dict': tv_resnet50.state_dict()}, src)
    before = open(src, 'rb').read()
    link = str(tmp_path / 'link.pth')
    os.symlink(src, link)
    for dst in (src, link):
        for extra in ([], ['--overwrite']):
            assert load_tool().main([src, dst] + extra) == 2
            err = capsys.readouterr().err
            assert err.count('\n') == 1 and 'is the input' in err
    assert open(src, 'rb').read() == before
    other = tmp_path / 'other.pth'
    other.write_bytes(b'not ours')
    assert load_tool().main([src, str(other)]) == 2
    assert '--overwrite' in capsys.readouterr().err
    assert other.read_bytes() == b'not ours'
    assert load_tool().main([src, str(other), '--overwrite']) == 0
    assert 'backbone.conv1.weight' in torch.load(
        str(other), weights_only=True)['state_dict']


def test_tool_names_our_own_checkpoints(tmp_path, capsys):
    """One of peclr_mm's checkpoints (a two-stage ResNet-18 under
    backbone., a head) is named as such with what the tool expects, not
    'no standard ResNet has [2, 2, 0, 0] blocks'."""
    model = ResNet(
        depth=18,
        num_stages=2,
        strides=(1, 2),
        dilations=(1, 1),
        out_indices=(1, ))
    state = OrderedDict(
        ('backbone.' + k, v) for k, v in model.state_dict().items())
    state['head.regressor.0.weight'] = torch.zeros(63, 128)
    src, dst = str(tmp_path / 'ft.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': state, 'meta': {'epoch': 3}}, src)
    assert load_tool().main([src, dst]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'ft.pth' in err
    assert 'already an OpenMMLab/peclr_mm checkpoint' in err
    assert '[2, 2, 0, 0]' in err and 'export_backbone' in err
    assert 'RN_25D_wMLPref' in err and not osp.exists(dst)
    # the same truncated encoder without the prefix
    torch.save({'state_dict': model.state_dict()}, src)
    assert load_tool().main([src, dst]) == 2
    err = capsys.readouterr().err
    assert 'truncated to 2 stage(s)' in err and 'expects' in err
