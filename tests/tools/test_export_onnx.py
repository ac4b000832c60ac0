# Copyright (c) peclr_mm authors. All rights reserved.
"""tools/deployment/export_onnx.py: the whole model (closed-form root and
refinement inside) as one ONNX graph that onnxruntime runs to PyTorch's
numbers, for our own and the released-model configs."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpose.apis import init_model

from peclr_mm.utils.affine import transform_points

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'demo': ('hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py', []),
    'released': ('hand25d_resnet50-peclr-released_freihand-224.py',
                 ['model.backbone.depth=18', 'model.head.in_channels=512']),
}


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'export_onnx', osp.join(ROOT, 'tools', 'deployment', 'export_onnx.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_onnx_matches_pytorch(name, synthetic_root, tmp_path):
    import onnxruntime as ort

    from peclr_mm.apis import inference_pipeline
    from peclr_mm.datasets.transforms import LoadHandImage
    cfg_file, options = CONFIGS[name]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'hand25d', cfg_file))
    cfg.merge_from_dict({
        k: int(v)
        for k, v in (o.split('=') for o in options)
    })
    torch.manual_seed(0)
    model = init_model(cfg, None, device='cpu')
    head = model.head
    last = head.regressor[-1] if hasattr(head, 'regressor') else \
        head.final_layer
    with torch.no_grad():  # joints that move with the image
        last.weight.mul_(300.)
        last.bias.uniform_(0.3, 0.7)
    ckpt, onnx_file = str(tmp_path / 'model.pth'), str(tmp_path / 'm.onnx')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    tool = load_tool()
    argv = [osp.join(ROOT, 'configs', 'hand25d', cfg_file), ckpt, onnx_file]
    if options:
        argv += ['--cfg-options'] + options
    assert tool.main(argv) == 0
    # a real crop through both: the graph against the model's test step
    model.test_cfg.pop('recrop', None)  # the export is one pass on a crop
    info = dict(
        img_path=osp.join(synthetic_root, 'evaluation', 'rgb', '00000001.jpg'),
        K=np.array([[560., 0., 110.], [0., 560., 114.], [0., 0., 1.]],
                   np.float32),
        bone_length=0.031)
    data = inference_pipeline(model, 'image')(LoadHandImage()(info))
    with torch.no_grad():
        want = model.test_step(pseudo_collate([data]))[0].pred_instances
    meta = data['data_samples'].metainfo
    sess = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    xyz, uv = sess.run(
        None,
        dict(
            image=data['inputs'][None].float().numpy(),
            K_crop=np.asarray(meta['K_crop'], np.float32)[None],
            bone_length=np.array([0.031], np.float32)))
    scale = np.abs(want.keypoints_3d).max()
    assert np.abs(xyz - want.keypoints_3d).max() < 1e-4 * scale
    crop_uv = transform_points(want.keypoints[0], meta['warp_mat'])
    # a random model's recovered wrist may lie near the camera plane, where
    # its projection amplifies float noise: compare joints in front
    front = want.keypoints_3d[0, :, 2] > 0.05
    assert front.sum() >= 10
    assert np.abs(uv[0] - crop_uv)[front].max() < 1e-4 * np.abs(crop_uv).max()
    assert np.ptp(xyz[0], 0).max() > 0.01  # not a collapsed hand


def test_dynamic_batch_and_preprocessing_in_the_file(tmp_path, capsys):
    """One file runs at batch 1 and 3 to PyTorch's numbers, and states the
    preprocessing (colour order, scale, mean/std, size, crop rule) in its
    metadata_props."""
    import json

    import onnx
    cfg_file = osp.join(ROOT, 'configs', 'hand25d', CONFIGS['demo'][0])
    torch.manual_seed(0)
    model = init_model(Config.fromfile(cfg_file), None, device='cpu')
    ckpt, out = str(tmp_path / 'ft.pth'), str(tmp_path / 'm.onnx')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    tool = load_tool()
    assert tool.main([cfg_file, ckpt, out]) == 0
    assert 'batch 1 and 3' in capsys.readouterr().out
    proto = onnx.load(out)
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param  # symbolic
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['peclr_mm.channel_order'] == 'BGR'
    assert meta['peclr_mm.pixel_scale'] == '0-255'
    assert json.loads(meta['peclr_mm.mean']) == [123.675, 116.28, 103.53]
    assert json.loads(meta['peclr_mm.std']) == [58.395, 57.12, 57.375]
    assert meta['peclr_mm.input_size'] == '64x64'
    assert json.loads(meta['peclr_mm.crop'])['source'] == 'bbox'
    assert "the hand's box" in meta['peclr_mm.crop_rule']
    from peclr_mm.apis.export import Hand3DExportModule
    wrapper = Hand3DExportModule(model)
    for batch in (1, 3):
        diffs = tool.check_with_onnxruntime(out, wrapper, batch, seed=batch)
        assert max(diffs) < 1e-4, (batch, diffs)


def test_refuses_its_inputs_existing_files_and_unsafe_checkpoints(
        tmp_path, capsys):
    import os
    cfg_file = osp.join(ROOT, 'configs', 'hand25d', CONFIGS['demo'][0])
    model = init_model(Config.fromfile(cfg_file), None, device='cpu')
    ckpt = str(tmp_path / 'ft.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    before = open(ckpt, 'rb').read()
    tool = load_tool()
    for out in (ckpt, cfg_file):
        assert tool.main([cfg_file, ckpt, out, '--overwrite']) == 2
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and f'{out} is the input' in err
    assert open(ckpt, 'rb').read() == before
    existing = tmp_path / 'm.onnx'
    existing.write_bytes(b'keep')
    assert tool.main([cfg_file, ckpt, str(existing)]) == 2
    assert '--overwrite' in capsys.readouterr().err
    assert existing.read_bytes() == b'keep'
    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'hook': os.system}, evil)
    assert tool.main([cfg_file, evil, str(tmp_path / 'e.onnx')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1
    assert 'evil.pth' in err and not (tmp_path / 'e.onnx').exists()
