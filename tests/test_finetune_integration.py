# Copyright (c) peclr_mm authors. All rights reserved.
"""Pretrain -> fine-tune -> test through stock runners, tools and mim."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.registry import MODELS

from peclr_mm.weights import safe_torch_load
from tests.conftest import tiny_finetune_cfg, tiny_pretrain_cfg

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def pipeline_run(synthetic_root, tmp_path_factory):
    base = tmp_path_factory.mktemp('e2e')
    pre = str(base / 'pretrain')
    Runner.from_cfg(tiny_pretrain_cfg(synthetic_root, pre, 1)).train()
    pre_ckpt = osp.join(pre, 'epoch_1.pth')
    ft = str(base / 'finetune')
    cfg = tiny_finetune_cfg(synthetic_root, ft, pre_ckpt, max_epochs=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    cfg_path = str(base / 'finetune_cfg.py')
    cfg.dump(cfg_path)
    return dict(
        pre_ckpt=pre_ckpt,
        ft_ckpt=osp.join(ft, 'epoch_1.pth'),
        cfg=cfg_path,
        runner=runner,
        base=base,
        data_root=synthetic_root)


def test_finetuning_starts_from_the_pretrained_encoder(pipeline_run):
    pre = safe_torch_load(pipeline_run['pre_ckpt'])['state_dict']
    cfg = Config.fromfile(pipeline_run['cfg'])
    model = MODELS.build(cfg.model)
    model.init_weights()
    for k, v in model.backbone.state_dict().items():
        torch.testing.assert_close(v, pre['backbone.' + k], msg=k)


def _run(args, env_extra=None, cwd=ROOT, **kw):
    env = dict(os.environ, OMP_NUM_THREADS='2', **(env_extra or {}))
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        **kw)


def _in_process(args):
    """Run ``python TOOL ARGS...`` as ``TOOL.main(ARGS)`` in this process
    (the imports are paid once), with the subprocess result's fields."""
    import contextlib
    import importlib.util
    import io
    import traceback
    import types
    script, argv = args[1], [str(a) for a in args[2:]]
    name = '_tool_' + osp.splitext(osp.basename(script))[0]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name,
                                                      osp.join(ROOT, script))
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = sys.modules[name].main(argv)
        except SystemExit as exc:
            code = exc.code
            if isinstance(code, str):  # sys.exit(message)
                print(code, file=sys.stderr)
                code = 1
        except Exception:  # what the interpreter does with an uncaught one
            traceback.print_exc()
            code = 1
    return types.SimpleNamespace(
        returncode=code or 0, stdout=out.getvalue(), stderr=err.getvalue())


def test_tools_test_prints_scores(pipeline_run):
    out_json = str(pipeline_run['base'] / 'metrics.json')
    res = _run([
        sys.executable, 'tools/test.py', pipeline_run['cfg'],
        pipeline_run['ft_ckpt'], '--work-dir',
        str(pipeline_run['base'] / 'test'), '--out', out_json
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    for key in ('freihand/EPE', 'freihand/PA-EPE', 'freihand/AUC'):
        assert key in log
    import json
    metrics = json.load(open(out_json))
    assert 0 < metrics['freihand/PA-EPE'] < 200
    assert 0 <= metrics['freihand/AUC'] <= 1


def test_tools_test_draws_dumps_and_logs_headlines(pipeline_run):
    """--show-dir/--interval draw one picture per INTERVAL samples through
    the registered visualizer; --dump writes the predictions; the test log
    line and the json log hold the headline scores (per-joint errors only
    with the metric's per_joint)."""
    import glob
    import json
    import pickle

    import cv2
    work = pipeline_run['base'] / 'show'
    dump = str(work / 'preds.pkl')
    res = _run([
        sys.executable, 'tools/test.py', pipeline_run['cfg'],
        pipeline_run['ft_ckpt'], '--work-dir',
        str(work), '--show-dir', 'pics', '--interval', '3', '--dump', dump,
        '--cfg-options', 'log_level=INFO'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    n = len(preds)
    assert n > 3
    assert all(p['pred_instances']['keypoints_3d'].shape[-2:] == (21, 3)
               for p in preds)
    pics = sorted(glob.glob(str(work / '*' / 'pics' / '*.jpg')))
    assert len(pics) == (n + 2) // 3
    img = cv2.imread(pics[0])
    assert img.shape == (320, 960, 3)  # prediction | truth | 3-D
    log = res.stdout + res.stderr
    line = [ln for ln in log.splitlines() if 'Epoch(test)' in ln]
    assert line and 'freihand/PA-EPE' in line[-1]
    assert '_j00' not in line[-1] and '_j20' not in line[-1]
    jsons = glob.glob(str(work / '*' / '*.json'))
    logged = {}
    for path in jsons:
        with open(path) as f:
            for row in f:
                logged.update(json.loads(row))
    assert 'freihand/PA-EPE' in logged and 'freihand/EPE_j00' not in logged


def test_dist_test_matches_one_process(pipeline_run):
    """tools/dist_test.sh with two processes (torchrun, gloo on CPU) gives
    the single process's scores: the evaluation split is divided between
    the ranks and collected again."""
    import json
    outs = {}
    for name, cmd in (('one', [sys.executable, 'tools/test.py']),
                      ('two', ['bash', 'tools/dist_test.sh'])):
        out_json = str(pipeline_run['base'] / f'dist_{name}.json')
        args = [pipeline_run['cfg'], pipeline_run['ft_ckpt']]
        if name == 'two':
            args.append('2')
        res = _run(
            cmd + args + [
                '--work-dir',
                str(pipeline_run['base'] / f'dist_{name}'), '--out', out_json
            ],
            env_extra=dict(PYTHON=sys.executable, PORT='29531'))
        assert res.returncode == 0, res.stderr[-3000:]
        outs[name] = json.load(open(out_json))
    for key in ('freihand/EPE', 'freihand/PA-EPE', 'freihand/EPE-2D'):
        assert outs['two'][key] == pytest.approx(outs['one'][key], rel=1e-5)


def test_mim_test(pipeline_run):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    res = _run([
        mim, 'test', 'peclr_mm', pipeline_run['cfg'], '--checkpoint',
        pipeline_run['ft_ckpt'], '--work-dir',
        str(pipeline_run['base'] / 'mim_test')
    ])
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    log = res.stdout + res.stderr
    assert 'freihand/PA-EPE' in log and 'freihand/AUC' in log


def test_mim_test_finds_a_config_by_name(pipeline_run, tmp_path):
    """``mim test peclr_mm NAME.py`` from any folder: mim finds the shipped
    config through peclr_mm/.mim; the checkpoint of the same architecture
    (trained at 32 px) is tested at the config's 64 px; one override of the
    test set's data_root moves the mean-pose reference too."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    name = 'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py'
    data = pipeline_run['data_root']
    res = _run([
        mim, 'test', 'peclr_mm', name, '--checkpoint', pipeline_run['ft_ckpt'],
        '--work-dir',
        str(tmp_path / 'by_name'), '--cfg-options',
        f'test_dataloader.dataset.data_root={data}'
    ],
               cwd=str(tmp_path))
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    log = res.stdout + res.stderr
    assert 'we find the config file in codebase peclr_mm' in log
    assert osp.join('configs', 'hand25d', name) in log
    assert 'freihand/PA-EPE' in log and 'freihand/mean-pose/PA-EPE' in log


def test_model_index_lists_every_shipped_config():
    """model-index.yml imports a metafile per algorithm folder, and the
    metafiles name every shipped config (and only existing ones)."""
    import glob

    import yaml
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    listed = set()
    for meta in index['Import']:
        models = yaml.safe_load(open(osp.join(ROOT, meta)))['Models']
        for m in models:
            assert osp.isfile(osp.join(ROOT, m['Config'])), m['Config']
            assert osp.basename(m['Config']) == m['Name'] + '.py'
            listed.add(m['Config'])
    shipped = {
        osp.relpath(p, ROOT)
        for d in ('peclr', 'simclr', 'simhand', 'hand25d')
        for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py'))
    }
    assert listed == shipped


def test_checkpoint_of_another_model_is_refused(pipeline_run):
    res = _run([
        sys.executable, 'tools/test.py', pipeline_run['cfg'],
        pipeline_run['pre_ckpt'], '--work-dir',
        str(pipeline_run['base'] / 'wrong')
    ])
    assert res.returncode != 0
    assert 'does not match the model' in res.stderr
    assert 'epoch_1.pth' in res.stderr


def test_stock_mmpose_config_starts_from_peclr_backbone(
        pipeline_run, tmp_path):
    """A config shipped with mmpose, plus custom_imports and an init_cfg,
    starts from an exported PeCLR backbone."""
    from mmpose.models.backbones import ResNet

    # A ResNet-50 PeCLR checkpoint (random weights; the layout is real).
    peclr = MODELS.build(
        dict(
            type='PeCLR',
            backbone=dict(type='ResNet', depth=50),
            neck=dict(
                type='mmpretrain.NonLinearNeck',
                in_channels=2048,
                hid_channels=512,
                out_channels=128,
                norm_cfg=dict(type='BN1d'))))
    ckpt = str(tmp_path / 'peclr_r50.pth')
    torch.save({'state_dict': peclr.state_dict(), 'meta': {}}, ckpt)
    exported = str(tmp_path / 'backbone.pth')
    res = _run([sys.executable, 'tools/export_backbone.py', ckpt, exported])
    assert res.returncode == 0, res.stderr
    cfg_file = tmp_path / 'stock.py'
    cfg_file.write_text(f"""
_base_ = ['mmpose::hand_2d_keypoint/topdown_heatmap/freihand2d/'
          'td-hm_res50_8xb64-100e_freihand2d-224x224.py']
custom_imports = dict(imports=['peclr_mm'], allow_failed_imports=False)
model = dict(backbone=dict(init_cfg=dict(type='Pretrained',
                                         checkpoint={exported!r})))
""")
    cfg = Config.fromfile(str(cfg_file))
    model = MODELS.build(cfg.model)
    assert isinstance(model.backbone, ResNet)
    model.init_weights()
    ref = peclr.backbone.state_dict()
    for k, v in model.backbone.state_dict().items():
        torch.testing.assert_close(v, ref[k], msg=k)


def test_inference_tool(pipeline_run, synthetic_root, tmp_path):
    """tools/infer.py on an image with a given camera and box: mmpose's
    results layout, 2-D joints that are the projections of the 3-D ones,
    a drawn picture, and a missing image named (exit 1)."""
    import json

    import cv2
    img = osp.join(synthetic_root, 'evaluation', 'rgb', '00000002.jpg')
    out = tmp_path / 'infer'
    res = _run([
        sys.executable, 'tools/infer.py', pipeline_run['cfg'],
        pipeline_run['ft_ckpt'], img, '--out-dir',
        str(out), '--recrop', '--K', '600', '600', '112', '112', '--bbox',
        '40', '30', '190', '200', '--hand', 'left'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'bone length assumed' in res.stdout
    pred = json.load(open(out / 'predictions' / '00000002.json'))
    assert pred['meta_info']['written_by'] == 'peclr_mm Hand3DPoseInferencer'
    (frame, ) = pred['instance_info']
    (hand, ) = frame['instances']
    xyz = np.array(hand['keypoints_3d'])
    uv = np.array(hand['keypoints'])
    assert xyz.shape == (21, 3) and uv.shape == (21, 2)
    assert hand['K'][0][0] == 600 and hand['K_source'] == 'given'
    assert hand['handedness'] == 'left' and hand['bbox_source'] == 'given'
    assert hand['bbox'] == [40, 30, 190, 200]
    assert hand['bone_length_source'].startswith('assumed')
    # The 2-D joints are the projections of the 3-D joints with K: the head
    # decodes 3-D along the rays of its crop-pixel uv (mirrored back here).
    front = xyz[:, 2] > 0.05
    proj = xyz @ np.array(hand['K']).T
    np.testing.assert_allclose(
        proj[front, :2] / proj[front, 2:], uv[front], atol=0.05)
    picture = cv2.imread(str(out / 'visualizations' / '00000002.jpg'))
    assert picture is not None and picture.shape == (224, 224, 3)
    bad = _in_process([
        sys.executable, 'tools/infer.py', pipeline_run['cfg'],
        pipeline_run['ft_ckpt'],
        str(tmp_path / 'missing.jpg'), img, '--detector', 'none', '--out-dir',
        str(tmp_path / 'o1')
    ])
    assert bad.returncode == 1 and 'missing.jpg' in bad.stderr
    assert 'Traceback' not in bad.stderr
    assert os.listdir(tmp_path / 'o1' / 'predictions') == ['00000002.json']


def test_inference_tool_keeps_files_and_reports_failures(
        pipeline_run, synthetic_root, tmp_path):
    """infer.py writes beside a PNG input without touching it, keeps apart
    inputs that share a name, goes on past an unreadable image (exit 1),
    and refuses files it did not write, another model's checkpoint and a
    bad K (exit 2)."""
    import shutil

    import cv2
    src = osp.join(synthetic_root, 'evaluation', 'rgb', '00000002.jpg')
    folder = tmp_path / 'imgs'
    (folder / 'a').mkdir(parents=True)
    (folder / 'b').mkdir()
    cv2.imwrite(str(folder / 'hand.png'), cv2.imread(src))
    png_bytes = (folder / 'hand.png').read_bytes()
    shutil.copy(src, folder / 'a' / 'x.jpg')
    shutil.copy(src, folder / 'b' / 'x.jpg')
    (folder / 'broken.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    shutil.copy(src, folder / 'y.jpg')
    (folder / 'visualizations').mkdir()
    (folder / 'visualizations' / 'y.jpg').write_bytes(b'a picture of mine')
    images = [
        folder / 'hand.png', folder / 'broken.jpg', folder / 'a' / 'x.jpg',
        folder / 'b' / 'x.jpg', folder / 'y.jpg'
    ]
    args = [
        sys.executable, 'tools/infer.py', pipeline_run['cfg'],
        pipeline_run['ft_ckpt'], *map(str, images), '--out-dir',
        str(folder), '--detector', 'none'
    ]
    res = _in_process(args)
    assert res.returncode == 1, res.stderr[-3000:]
    assert 'broken.jpg' in res.stderr and 'unreadable' in res.stderr
    assert 'y.jpg exists and was not written' in res.stderr
    assert (folder / 'hand.png').read_bytes() == png_bytes
    assert (folder / 'visualizations' /
            'y.jpg').read_bytes() == b'a picture of mine'
    preds = sorted(os.listdir(folder / 'predictions'))
    assert len(preds) == 3 and 'hand.json' in preds
    twins = [p for p in preds if p.startswith('x_')]
    assert len(twins) == 2 and twins[0] != twins[1]
    for name in preds:
        picture = folder / 'visualizations' / name.replace('.json', '.jpg')
        assert cv2.imread(str(picture)) is not None
    # a second run rewrites its own results, with the same names
    assert _in_process(args).returncode == 1
    assert sorted(os.listdir(folder / 'predictions')) == preds
    # another model's checkpoint, a degenerate or negative-focal K, a
    # pretraining config
    for extra, cfg, ckpt, message in (
        ([], pipeline_run['cfg'], pipeline_run['pre_ckpt'], 'does not match'),
        (['--K', '0', '0', '0',
          '0'], pipeline_run['cfg'], pipeline_run['ft_ckpt'],
         'focal'), (['--K', '-600', '600', '112', '112'], pipeline_run['cfg'],
                    pipeline_run['ft_ckpt'], 'must be positive'),
        ([], 'configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py',
         pipeline_run['pre_ckpt'], 'not a TopdownHand3DEstimator')):
        res = _in_process([
            sys.executable, 'tools/infer.py', cfg, ckpt, src, '--out-dir',
            str(tmp_path / 'other'), '--detector', 'none', *extra
        ])
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert 'Traceback' not in res.stderr
    assert not (tmp_path / 'other').exists()


def test_analysis_tools(pipeline_run, tmp_path):
    """The demo's pictures: learning curves with the mean-pose line,
    predictions beside the ground truth, and the pipeline's targets."""
    import cv2
    curves = str(tmp_path / 'curves.png')
    res = _run([
        sys.executable, 'tools/analysis/plot_curves.py',
        str(pipeline_run['base'] / 'finetune'), '--out', curves
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'loss_uv' in res.stdout and 'freihand/EPE-2D' in res.stdout
    assert cv2.imread(curves) is not None

    preds = str(tmp_path / 'predictions.png')
    res = _run([
        sys.executable, 'tools/analysis/show_predictions.py',
        pipeline_run['cfg'], pipeline_run['ft_ckpt'], '--out', preds, '--num',
        '3', '--cols', '2'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    img = cv2.imread(preds)
    # two rows of two (prediction | ground truth) pairs of 448 px tiles
    assert img.shape[0] == 2 * 448 + 12 and img.shape[1] > 4 * 448
    res = _in_process([
        sys.executable, 'tools/analysis/show_predictions.py',
        pipeline_run['cfg'], pipeline_run['pre_ckpt'], '--out', preds
    ])
    assert res.returncode != 0 and 'does not match the model' in res.stderr

    browse = tmp_path / 'browse'
    res = _run([
        sys.executable, 'tools/misc/browse_dataset.py', pipeline_run['cfg'],
        '--output-dir',
        str(browse), '--num-samples', '3'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    drawn = sorted(os.listdir(browse))
    assert len(drawn) == 3 and all(f.startswith('train_') for f in drawn)
    # a second run refuses to write into the filled folder
    res = _in_process([
        sys.executable, 'tools/misc/browse_dataset.py', pipeline_run['cfg'],
        '--output-dir',
        str(browse)
    ])
    assert res.returncode != 0 and 'not empty' in res.stderr
    views = tmp_path / 'views'
    res = _in_process([
        sys.executable, 'tools/misc/browse_dataset.py',
        'configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py',
        '--output-dir',
        str(views), '--num-samples', '2', '--cfg-options',
        f'train_dataloader.dataset.data_root={pipeline_run["data_root"]}'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    img = cv2.imread(str(views / sorted(os.listdir(views))[0]))
    assert img.shape[1] > 2 * img.shape[0]  # two views side by side


def test_server_submission_without_labels(pipeline_run, tmp_path):
    """The public evaluation split without joints (K and scale only) runs
    through the test loop and writes the official pred.json and zip; a set
    of another size is refused."""
    import json
    import shutil
    import zipfile
    root = tmp_path / 'fh'
    shutil.copytree(pipeline_run['data_root'], root)
    os.remove(root / 'evaluation_xyz.json')
    cfg = Config.fromfile(pipeline_run['cfg'])
    cfg.work_dir = str(tmp_path / 'work')
    cfg.visualizer['name'] = f'visualizer:{tmp_path}'
    cfg.load_from = pipeline_run['ft_ckpt']
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = None
    cfg.param_scheduler = cfg.val_dataloader = cfg.val_cfg = None
    cfg.val_evaluator = None
    dataset = cfg.test_dataloader.dataset
    dataset.data_root = str(root)
    dataset.with_labels = 'camera'
    for t in dataset.pipeline:  # no joints, so no box: the whole image
        if t['type'] == 'HandCanonicalCrop':
            t['source'] = 'image'
    prefix = str(tmp_path / 'sub' / 'freihand')
    os.makedirs(osp.dirname(prefix))
    cfg.test_evaluator = dict(
        type='FreiHand3DMetric',
        gt_available=False,
        outfile_prefix=prefix,
        submission_size=8)
    Runner.from_cfg(cfg).test()
    pred = json.load(open(prefix + '.pred.json'))
    assert len(pred) == 2 and len(pred[0]) == 8
    assert np.array(pred[0]).shape == (8, 21, 3)
    with zipfile.ZipFile(prefix + '.pred.zip') as zf:
        assert zf.namelist() == ['pred.json']
    cfg.test_evaluator['submission_size'] = 3960
    cfg.test_evaluator['outfile_prefix'] = prefix + '_full'
    cfg.visualizer['name'] = f'visualizer:{tmp_path}:2'
    with pytest.raises(ValueError, match=r'must hold 3960 predictions.*got 8'):
        Runner.from_cfg(cfg).test()
    assert not os.path.exists(prefix + '_full.pred.json')


def test_inference_tool_refuses_bad_input_and_expands_folders(
        pipeline_run, synthetic_root, tmp_path):
    """D4: a 1e-30 focal is refused per image and nothing is written; D5: a
    zero-area --bbox is refused (exit 2); D9: a 1x1 image is reported and
    the others go on; D10: a folder stands for the images in it."""
    import shutil

    import cv2
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i in (1, 2):
        shutil.copy(
            osp.join(synthetic_root, 'evaluation', 'rgb', f'0000000{i}.jpg'),
            folder / f'h{i}.jpg')
    tool = [
        sys.executable, 'tools/infer.py', pipeline_run['cfg'],
        pipeline_run['ft_ckpt'], '--detector', 'none'
    ]
    out = tmp_path / 'out'
    res = _in_process(tool + [str(folder), '--out-dir', str(out)])
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(os.listdir(out / 'predictions')) == ['h1.json', 'h2.json']
    # the pictures, and each hand's 3-D view beside them
    assert sorted(os.listdir(out /
                             'visualizations')) == ['3d', 'h1.jpg', 'h2.jpg']
    assert sorted(os.listdir(out / 'visualizations' /
                             '3d')) == ['h1.jpg', 'h2.jpg']
    cv2.imwrite(str(folder / 'tiny.png'), np.zeros((1, 1, 3), np.uint8))
    res = _in_process(tool + [
        str(folder), '--out-dir',
        str(tmp_path / 'o2'), '--K', '1e-30', '1e-30', '0', '0'
    ])
    assert res.returncode == 2  # every input failed
    assert 'h1.jpg: the focal lengths' in res.stderr
    assert 'tiny.png: too small (1x1 px' in res.stderr
    assert not (tmp_path / 'o2' / 'predictions').exists()
    res = _in_process(tool + [
        str(folder / 'h1.jpg'), '--bbox', '10', '10', '10', '10', '--out-dir',
        str(tmp_path / 'o3')
    ])
    assert res.returncode == 2 and '--bbox must be' in res.stderr
    empty = tmp_path / 'empty'
    empty.mkdir()
    res = _in_process(tool + [str(empty), '--out-dir', str(tmp_path / 'o4')])
    assert res.returncode == 2 and 'is a folder with no images' in \
        res.stderr


def test_mmpose_own_test_tool_refuses_a_pretraining_checkpoint(pipeline_run):
    """D11: mmpose's tools/test.py (mim test mmpose) loads through the
    estimator, which refuses weights that are not its own, with the words
    of ours, instead of scoring random heads."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    res = _run([
        mim, 'test', 'mmpose', pipeline_run['cfg'], '--checkpoint',
        pipeline_run['pre_ckpt'], '--work-dir',
        str(pipeline_run['base'] / 'mmpose_wrong')
    ])
    log = res.stdout + res.stderr
    assert res.returncode != 0, log[-3000:]
    assert 'does not match the model TopdownHand3DEstimator of the config' \
        in log
    assert 'missing: head.' in log
    assert 'freihand/PA-EPE' not in log
