# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from peclr_mm.datasets import FreiHand3DDataset
from peclr_mm.evaluation import load_mean_pose
from peclr_mm.utils.camera import project
from tests.tools.real_world_fixture import (frame_projection,
                                            write_real_world_fixture)
from tools.dataset_converters.real_world_testset import META, main

SIZE = 64


@pytest.fixture
def source(tmp_path):
    src = str(tmp_path / 'real_world_testset')
    return src, write_real_world_fixture(src, num=4, size=SIZE)


def _json(root, name):
    return np.array(json.load(open(osp.join(root, name))))


def _crop_uv(fix, frames):
    """The source's projection into each crop, pixels."""
    uv = frame_projection(fix['xyz_cm'][frames])
    box = fix['bbox'][frames].astype(np.float64)
    return (uv - box[:, None, :2]) * SIZE / box[:, None, 2:]


@pytest.mark.parametrize('hand', ['right', 'left'])
def test_round_trip_lands_where_the_source_projects(source, tmp_path, hand):
    src, fix = source
    out = str(tmp_path / 'out')
    assert main([src, out, '--frames', '1', '3', '--hand', hand]) == 0
    expected = _crop_uv(fix, [1, 2, 3])
    if hand == 'right':  # cv2.flip(img, 1): u -> W - 1 - u
        expected[..., 0] = SIZE - 1 - expected[..., 0]
    for split in ('training', 'evaluation'):
        xyz = _json(out, f'{split}_xyz.json')
        K = _json(out, f'{split}_K.json')
        np.testing.assert_allclose(project(xyz, K), expected, atol=1e-6)
        # metres, mirrored in x for right hands
        sign = -1 if hand == 'right' else 1
        np.testing.assert_allclose(xyz[..., 0],
                                   sign * fix['xyz_cm'][1:4, :, 0] / 100)
        np.testing.assert_allclose(
            _json(out, f'{split}_scale.json'),
            np.linalg.norm(xyz[:, 9] - xyz[:, 10], axis=1))
        assert K[:, 0, 0].min() > 0  # fx stays positive
    meta = json.load(open(osp.join(out, META)))
    assert meta['hand'] == hand and meta['frames'] == [1, 3]
    assert meta['mirrored'] == (hand == 'right')


def test_images_are_flipped_or_kept(source, tmp_path):
    src, _ = source
    right, left = str(tmp_path / 'r'), str(tmp_path / 'l')
    assert main([src, right, '--frames', '0', '1']) == 0
    assert main([src, left, '--frames', '0', '1', '--hand', 'left']) == 0
    for n in range(2):
        orig = osp.join(src, 'images', f'{n:05d}.jpg')
        kept = osp.join(left, 'evaluation', 'rgb', f'{n:08d}.jpg')
        assert open(orig, 'rb').read() == open(kept, 'rb').read()
        flipped = cv2.imread(
            osp.join(right, 'training', 'rgb', f'{n:08d}.jpg'))
        blue = flipped[..., 0].astype(float).mean(0)
        # the left-to-right ramp now runs right to left
        assert blue[:8].mean() > 200 and blue[-8:].mean() < 55
        diff = np.abs(flipped.astype(float) -
                      cv2.flip(cv2.imread(orig), 1)).mean()
        assert diff < 15  # JPEG re-encoding only


def test_the_reader_and_the_mean_pose_take_the_output(source, tmp_path):
    src, fix = source
    out = str(tmp_path / 'out')
    assert main([src, out, '--frames', '0', '3']) == 0
    for split in ('training', 'evaluation'):
        ds = FreiHand3DDataset(data_root=out, split=split, pipeline=[])
        assert len(ds) == 4
        info = ds.get_data_info(2)
        np.testing.assert_allclose(
            info['keypoints'][0],
            _crop_uv(fix, [2])[0] * [-1, 1] + [SIZE - 1, 0],
            atol=1e-4)
    mean = load_mean_pose(out)
    assert mean.num == 4
    xyz = _json(out, 'evaluation_xyz.json')
    np.testing.assert_allclose(mean.rel_xyz, (xyz - xyz[:, :1]).mean(0))


@pytest.mark.parametrize('frames', [('0', '4'), ('-1', '2'), ('3', '1')])
def test_frames_outside_the_set_are_refused(source, tmp_path, capsys, frames):
    src, _ = source
    out = tmp_path / 'out'
    assert main([src, str(out), '--frames', *frames]) == 2
    assert 'frames 0..3' in capsys.readouterr().err
    assert not out.exists()


def test_a_bad_field_is_named(source, tmp_path, capsys):
    src, _ = source
    savemat(
        osp.join(src, 'params.mat'),
        dict(cam_param=np.ones(4), bbox=np.ones((3, 4))))
    assert main([src, str(tmp_path / 'o'), '--frames', '0', '1']) == 2
    err = capsys.readouterr().err
    assert 'params.mat: field bbox' in err and '4 x 4' in err
    os.remove(osp.join(src, 'pose_gt.mat'))
    assert main([src, str(tmp_path / 'o'), '--frames', '0', '1']) == 2
    assert 'pose_gt.mat is missing' in capsys.readouterr().err


def test_a_missing_image_is_named(source, tmp_path, capsys):
    src, _ = source
    os.remove(osp.join(src, 'images', '00002.jpg'))
    assert main([src, str(tmp_path / 'o'), '--frames', '0', '3']) == 2
    assert '00002.jpg is missing (frame 2)' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()
    assert not [e for e in os.listdir(tmp_path) if 'partial' in e]


def test_only_its_own_output_is_overwritten(source, tmp_path, capsys):
    src, _ = source
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'notes.txt').write_text('mine')
    assert main([src, str(foreign), '--frames', '0', '1', '--overwrite']) == 2
    assert 'not written by this converter' in capsys.readouterr().err
    assert (foreign / 'notes.txt').read_text() == 'mine'

    out = str(tmp_path / 'out')
    assert main([src, out, '--frames', '0', '1']) == 0
    assert main([src, out, '--frames', '0', '2']) == 2  # no --overwrite
    assert 'not empty' in capsys.readouterr().err
    assert main([src, out, '--frames', '0', '2', '--overwrite']) == 0
    assert len(_json(out, 'evaluation_xyz.json')) == 3
    open(osp.join(out, 'extra.txt'), 'w').close()
    assert main([src, out, '--frames', '0', '1', '--overwrite']) == 2
    assert osp.isfile(osp.join(out, 'extra.txt'))


def test_one_split(source, tmp_path):
    src, _ = source
    out = tmp_path / 'out'
    assert main([src,
                 str(out), '--frames', '0', '1', '--split', 'evaluation']) == 0
    assert (out / 'evaluation_K.json').is_file()
    assert not (out / 'training').exists()


@pytest.mark.parametrize('unit,factor', [('mm', 10.), ('m', 0.01)])
def test_joints_not_in_cm_are_refused(source, tmp_path, capsys, unit, factor):
    """The same hands stored in mm (4.5 m away, read as cm) or m (4.5 mm
    away) are refused in one line naming the field and the likely unit;
    nothing is written."""
    src, fix = source
    savemat(
        osp.join(src, 'pose_gt.mat'),
        dict(pose_gt=(fix['xyz_cm'] * factor).astype(np.float32)))
    out = str(tmp_path / 'out')
    assert main([src, out, '--frames', '0', '3']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pose_gt.mat: field pose_gt' in err
    assert f'look like {unit},' in err
    assert not osp.exists(out)
