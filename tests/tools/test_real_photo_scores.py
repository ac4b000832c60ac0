# Copyright (c) peclr_mm authors. All rights reserved.
import json
import shutil

import numpy as np
import pytest
import torch

from peclr_mm.evaluation import (freihand_scores, load_mean_pose,
                                 mean_pose_scores)
from tests.conftest import tiny_finetune_cfg
from tests.tools.real_world_fixture import write_real_world_fixture
from tools.analysis.real_photo_scores import WRITTEN_BY, main
from tools.analysis.realism import load_split
from tools.dataset_converters.real_world_testset import convert


@pytest.fixture(scope='module')
def real_root(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('real')
    write_real_world_fixture(str(tmp / 'src'), num=4, size=64)
    convert(str(tmp / 'src'), str(tmp / 'out'), (0, 3))
    return str(tmp / 'out')


def test_mean_pose_and_a_stubbed_mediapipe(real_root, tmp_path, capsys):
    data = load_split(real_root)
    rng = np.random.default_rng(0)
    world = data['xyz'] + rng.normal(0, 0.005, data['xyz'].shape)
    calls = []

    def detector(img):
        n = len(calls)
        calls.append(n)
        if n == 3:
            return []
        return [
            dict(
                keypoints=data['uv'][n] + [0., 2.],
                keypoints_world=world[n] * 2 + 1,  # any scale and place
                score=0.9,
                handedness='right')
        ]

    out = tmp_path / 'scores.json'
    assert main([real_root, '--out', str(out)], detector=detector) == 0
    text = capsys.readouterr().out
    res = json.load(open(out))
    mean = mean_pose_scores(load_mean_pose(real_root), data['xyz'], data['K'])
    assert res['mean_pose']['PA-EPE'] == pytest.approx(mean['PA-EPE'])
    mp = res['mediapipe']
    assert (mp['num'], mp['num_detected']) == (4, 3)
    assert mp['EPE-2D'] == pytest.approx(2.)
    assert mp['PA-EPE'] == pytest.approx(
        freihand_scores(world[:3], data['xyz'][:3])['pa_epe_mm'])
    assert res['model'] is None
    assert f'| EPE-2D (px) | - | {mean["EPE-2D"]:.1f} | 2.0 (x' in text
    assert 'MediaPipe (3/4 found)' in text


def test_a_model_beside_the_mean_pose(real_root, tmp_path, capsys):
    from mmpose.apis import init_model
    cfg = tiny_finetune_cfg('data/none', str(tmp_path / 'work'))
    cfg_file, ckpt = str(tmp_path / 'cfg.py'), str(tmp_path / 'model.pth')
    cfg.dump(cfg_file)
    torch.manual_seed(0)
    model = init_model(cfg, None, device='cpu')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = tmp_path / 'scores.json'
    assert main([
        real_root, '--config', cfg_file, '--checkpoint', ckpt,
        '--no-mediapipe', '--out',
        str(out)
    ]) == 0
    res = json.load(open(out))
    model, mean = res['model'], res['mean_pose']
    # the real set's own mean pose, not the config's data root's
    assert model['mean-pose/PA-EPE'] == pytest.approx(mean['PA-EPE'])
    assert model['ratio/PA-EPE'] == pytest.approx(model['PA-EPE'] /
                                                  mean['PA-EPE'])
    assert res['mediapipe'] is None
    assert '| PA-EPE (mm) | ' in capsys.readouterr().out


def test_config_and_checkpoint_go_together(real_root):
    with pytest.raises(SystemExit):
        main([real_root, '--config', 'x.py'])


def test_out_never_writes_over_a_file_it_did_not_write(real_root, tmp_path,
                                                       capsys):
    """The data root's labels and any file it did not write are refused
    (exit 2, one line), --overwrite or not; its own output needs
    --overwrite."""
    root = tmp_path / 'root'
    shutil.copytree(real_root, root)
    args = [str(root), '--no-mediapipe', '--out']
    for name in ('evaluation_xyz.json', 'training_K.json',
                 'real_world_testset.json'):
        target = root / name
        before = target.read_bytes()
        for extra in ((), ('--overwrite', )):
            assert main(args + [str(target), *extra]) == 2
            err = capsys.readouterr().err
            assert err.count('\n') == 1 and str(target) in err
        assert target.read_bytes() == before
    out = tmp_path / 'scores.json'
    assert main(args + [str(out)]) == 0
    assert main(args + [str(out)]) == 2
    assert 'pass --overwrite' in capsys.readouterr().err
    assert main(args + [str(out), '--overwrite']) == 0
    assert json.load(open(out))['written_by'] == WRITTEN_BY
