# Copyright (c) peclr_mm authors. All rights reserved.
"""The installed stack and the plugin's registration."""
import os.path as osp
import subprocess
import sys
import textwrap

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_verify_env_passes():
    out = subprocess.run([sys.executable, 'tools/verify_env.py'],
                         cwd=ROOT,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    for pin in ('torch=2.14.1', 'torchvision=0.29.1', 'mmcv=2.1.0',
                'mmengine=0.10.7', 'mmpose=1.3.2', 'mmpretrain=1.2.0',
                'numpy=1.26.4'):
        assert pin in line, line


def test_custom_imports_register_into_mmpose(tmp_path):
    """A stock mmpose config plus custom_imports makes our modules
    buildable and puts each replacement of peclr_mm.patches in force, in a
    fresh interpreter that never imports peclr_mm itself."""
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        textwrap.dedent("""
        _base_ = ['mmpose::_base_/default_runtime.py']
        custom_imports = dict(imports=['peclr_mm'],
                              allow_failed_imports=False)
        """))
    code = textwrap.dedent(f"""
        import sys
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        assert 'peclr_mm' not in sys.modules
        cfg = Config.fromfile({str(cfg)!r})
        init_default_scope(cfg.default_scope)
        from mmpose.registry import (DATASETS, METRICS, MODELS,
                                     KEYPOINT_CODECS, TRANSFORMS)
        for reg, name in ((TRANSFORMS, 'WarpView'),
                          (TRANSFORMS, 'MultiViewWithGeometry'),
                          (MODELS, 'PeCLR'),
                          (DATASETS, 'FreiHand3DDataset'),
                          (METRICS, 'FreiHand3DMetric')):
            assert reg.get(name) is not None, name
        import peclr_mm.patches
        assert peclr_mm.patches.applied() == dict(
            checkpoint_loading=True, checkpoint_saving=True,
            pytorch_launcher=True, checkpoint_rotation=True,
            resume_lookup=True), peclr_mm.patches.applied()
        import mmengine.runner.runner as runner_module
        from mmengine.dist import utils as dist_utils
        from mmengine.runner.checkpoint import CheckpointLoader
        loading = 'peclr_mm.weights.loading'
        assert CheckpointLoader._get_checkpoint_loader(
            'https://x/y.pth').__module__ == loading
        assert CheckpointLoader._get_checkpoint_loader(
            'a/b.pth').__module__ == loading
        from peclr_mm.weights import atomic_save_checkpoint
        assert runner_module.save_checkpoint is atomic_save_checkpoint
        assert dist_utils._init_dist_pytorch.__module__ == \
            'peclr_mm.engine.cpu_dist'
        print('registered')
        """)
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'registered' in out.stdout


def test_mim_finds_the_package_tools():
    from mim.utils import get_installed_path
    root = get_installed_path('peclr_mm')
    assert osp.realpath(root) == osp.join(ROOT, 'peclr_mm')
    assert osp.isfile(osp.join(root, '.mim', 'tools', 'test.py'))
    assert osp.isfile(osp.join(root, '.mim', 'configs', 'peclr_freihand.py'))
