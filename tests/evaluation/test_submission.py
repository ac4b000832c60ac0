# Copyright (c) peclr_mm authors. All rights reserved.
import json
import logging
import os
import zipfile
from unittest import mock

import numpy as np
import pytest

from peclr_mm.evaluation import load_freihand_submission
from peclr_mm.evaluation import submission as submission_module
from peclr_mm.evaluation import write_freihand_submission


def hands(num=7, seed=0, points=21):
    rng = np.random.default_rng(seed)
    return (rng.normal(scale=0.04, size=(num, points, 3)) +
            np.array([0.0, 0.0, 0.6]))


def test_official_layout_in_metres(tmp_path):
    xyz = hands()
    path = str(tmp_path / 'pred.json')
    assert write_freihand_submission(path, xyz) == path
    with open(path) as f:
        pred = json.load(f)
    # [xyz_list, verts_list], lists of lists of floats, N x 21 x 3 and
    # N x 778 x 3, as the official pred.py writes them.
    assert isinstance(pred, list) and len(pred) == 2
    assert len(pred[0]) == len(pred[1]) == len(xyz)
    assert all(len(joints) == 21 for joints in pred[0])
    assert all(len(verts) == 778 for verts in pred[1])
    assert isinstance(pred[0][0][0][0], float)
    np.testing.assert_array_equal(np.array(pred[0]), xyz)
    np.testing.assert_array_equal(np.array(pred[1]), 0)
    assert 0.3 < np.median(np.array(pred[0])[..., 2]) < 1.0


def test_round_trip_with_and_without_mesh(tmp_path):
    xyz = hands()
    verts = hands(seed=1, points=778)
    path = str(tmp_path / 'with_mesh.json')
    write_freihand_submission(path, xyz, verts)
    xyz_back, verts_back = load_freihand_submission(path)
    np.testing.assert_array_equal(xyz_back, xyz)
    np.testing.assert_array_equal(verts_back, verts)

    path = str(tmp_path / 'no_mesh.json')
    write_freihand_submission(path, xyz.astype(np.float32))
    xyz_back, verts_back = load_freihand_submission(path)
    np.testing.assert_array_equal(xyz_back, xyz.astype(np.float32))
    assert verts_back.shape == (7, 778, 3) and not verts_back.any()


def test_missing_mesh_is_warned(tmp_path):
    with mock.patch.object(submission_module, 'print_log') as log:
        write_freihand_submission(str(tmp_path / 'p.json'), hands())
    (message, ), kwargs = log.call_args
    assert kwargs['level'] == logging.WARNING
    assert 'meaningless' in message


def test_zip_holds_pred_json_at_root(tmp_path):
    xyz = hands()
    json_path = str(tmp_path / 'out' / 'anything.json')
    zip_path = str(tmp_path / 'out' / 'submit.zip')
    assert write_freihand_submission(
        json_path, xyz, zip_path=zip_path) == zip_path
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.namelist() == ['pred.json']
        with open(json_path, 'rb') as f:
            assert zf.read('pred.json') == f.read()
    xyz_back, _ = load_freihand_submission(zip_path)
    np.testing.assert_array_equal(xyz_back, xyz)
    assert sorted(os.listdir(tmp_path /
                             'out')) == ['anything.json', 'submit.zip']


def test_millimetres_refused(tmp_path):
    path = tmp_path / 'pred.json'
    with pytest.raises(ValueError, match='metres'):
        write_freihand_submission(str(path), hands() * 1000)
    with pytest.raises(ValueError, match='metres'):
        write_freihand_submission(
            str(path), hands(), verts=np.full((7, 778, 3), 600.0))
    assert not path.exists()


@pytest.mark.parametrize('xyz, verts, match', [
    (np.zeros((3, 20, 3)), None, r'xyz.*\(N, 21, 3\)'),
    (np.zeros((21, 3)), None, r'xyz.*\(N, 21, 3\)'),
    (np.zeros((0, 21, 3)), None, r'xyz.*N >= 1'),
    (np.full((3, 21, 3), np.nan), None, 'non-finite'),
    (np.zeros((3, 21, 3)), np.zeros((3, 21, 3)), r'verts.*\(N, 778, 3\)'),
    (np.zeros((3, 21, 3)), np.zeros((2, 778, 3)), '3 samples.*2'),
])
def test_bad_inputs_refused(tmp_path, xyz, verts, match):
    with pytest.raises(ValueError, match=match):
        write_freihand_submission(str(tmp_path / 'p.json'), xyz, verts)


def test_write_is_atomic(tmp_path):
    path = tmp_path / 'pred.json'
    write_freihand_submission(str(path), hands())
    before = path.read_bytes()

    def crash(obj, f):
        f.write('[[[0.1,')
        raise RuntimeError('disk full')

    with mock.patch.object(submission_module.json, 'dump', crash):
        with pytest.raises(RuntimeError, match='disk full'):
            write_freihand_submission(str(path), hands(seed=3))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ['pred.json']


def _dump(tmp_path, obj, name='pred.json'):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        load_freihand_submission(str(tmp_path / 'nope.json'))

    bad = tmp_path / 'bad.json'
    bad.write_text('[[1, 2')
    with pytest.raises(ValueError, match='bad.json.*not valid JSON'):
        load_freihand_submission(str(bad))

    xyz = hands(2).tolist()
    with pytest.raises(ValueError, match=r'\[xyz_list, verts_list\]'):
        load_freihand_submission(_dump(tmp_path, [xyz]))
    with pytest.raises(ValueError, match=r'field 1 \(verts\).*778'):
        load_freihand_submission(_dump(tmp_path, [xyz, xyz]))
    with pytest.raises(ValueError, match=r'field 0 \(xyz\).*ragged'):
        load_freihand_submission(
            _dump(tmp_path, [[xyz[0], xyz[1][:5]], [[[0] * 3] * 778] * 2]))
    with pytest.raises(ValueError, match='2 samples.*1'):
        load_freihand_submission(_dump(tmp_path, [xyz, [[[0] * 3] * 778]]))
    with pytest.raises(ValueError, match='metres'):
        load_freihand_submission(
            _dump(tmp_path,
                  [(np.array(xyz) * 1e3).tolist(), [[[0] * 3] * 778] * 2]))

    zip_path = tmp_path / 'wrong.zip'
    with zipfile.ZipFile(zip_path, 'w') as zf:
        zf.writestr('sub/pred.json', '[]')
    with pytest.raises(ValueError, match='pred.json at its root'):
        load_freihand_submission(str(zip_path))
