# Copyright (c) peclr_mm authors. All rights reserved.
import json
import shutil

import numpy as np
import pytest

from tools.analysis.realism import (SUMMARY_KEYS, error_over_box, load_split,
                                    main, measure, spread_indices)


def test_error_over_box_is_the_mean_distance_over_the_longer_side():
    gt = np.zeros((21, 2))
    gt[:, 0] = np.linspace(10, 50, 21)  # 40 px wide
    gt[:, 1] = np.linspace(0, 20, 21)  # 20 px high
    pred = gt + [3., 4.]  # 5 px off everywhere
    assert error_over_box(pred, gt) == pytest.approx(5 / 40)
    pred = gt.copy()
    pred[0] += [0, 21.]  # one joint 21 px off
    assert error_over_box(pred, gt) == pytest.approx(1 / 40)
    with pytest.raises(ValueError, match='21, 2'):
        error_over_box(pred[:20], gt[:20])


def test_spread_indices():
    assert spread_indices(10, None).tolist() == list(range(10))
    assert spread_indices(10, 20).tolist() == list(range(10))
    assert spread_indices(10, 3).tolist() == [0, 4, 9]  # 4.5 rounds to even
    with pytest.raises(ValueError):
        spread_indices(10, 0)


def test_measure_scores_a_stubbed_detector(synthetic_root):
    gt_uv = load_split(synthetic_root)['uv']
    calls = []

    def detector(img):
        n = len(calls)
        calls.append(img.shape)
        if n % 2:  # every second image: nothing found
            return []
        kpts = gt_uv[n] + [3., 4.]
        return [
            dict(keypoints=kpts, score=0.9, handedness='right'),
            dict(keypoints=kpts + 100, score=0.5, handedness='left')
        ]

    result = measure(synthetic_root, 'evaluation', None, detector=detector)
    s = result['summary']
    assert set(SUMMARY_KEYS) <= set(s)
    assert (s['num_images'], s['num_detected']) == (8, 4)
    assert s['detection_rate'] == 0.5
    sides = [np.ptp(gt_uv[i], 0).max() for i in (0, 2, 4, 6)]
    assert s['error_box_mean'] == pytest.approx(np.mean(5 / np.array(sides)))
    assert s['error_box_median'] == pytest.approx(
        np.median(5 / np.array(sides)))
    assert s['epe_2d_px_mean'] == pytest.approx(5.)
    assert s['handedness'] == {'right': 4}  # the most confident hand
    assert [r['detected'] for r in result['records']] == [True, False] * 4


def _has_mediapipe() -> bool:
    try:
        from peclr_mm.apis import import_mediapipe_hands
        import_mediapipe_hands()
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_mediapipe(), reason='needs mediapipe')
def test_the_command_on_renders(synthetic_root, tmp_path, capsys):
    out = tmp_path / 'realism.json'
    assert main([synthetic_root, '--num', '3', '--out', str(out)]) == 0
    assert 'detected' in capsys.readouterr().out
    res = json.load(open(out))
    assert set(SUMMARY_KEYS) <= set(res['summary'])
    assert [r['index'] for r in res['records']] == [0, 4, 7]
    assert 0 <= res['summary']['detection_rate'] <= 1


def test_the_command_names_a_missing_split(tmp_path, capsys):
    assert main([str(tmp_path), '--num', '3']) == 2
    assert 'evaluation/rgb is missing' in capsys.readouterr().err


def _stub_detector(img):
    return []


def test_out_never_writes_over_a_file_it_did_not_write(synthetic_root,
                                                       tmp_path, capsys):
    """The data root's own labels (the input), any other file, and its own
    earlier output without --overwrite are refused with one line and left
    as they were; its own output is replaced with --overwrite."""
    root = tmp_path / 'root'
    shutil.copytree(synthetic_root, root)
    labels = root / 'evaluation_xyz.json'
    foreign = root / 'training_xyz.json'
    before = labels.read_bytes(), foreign.read_bytes()

    def run(out, *extra):
        code = main([str(root), '--num', '2', '--out',
                     str(out), *extra],
                    detector=_stub_detector)
        return code, capsys.readouterr().err

    for out in (labels, foreign):
        for extra in ((), ('--overwrite', )):
            code, err = run(out, *extra)
            assert code == 2 and err.count('\n') == 1, err
            assert str(out) in err and 'refusing' in err
    assert (labels.read_bytes(), foreign.read_bytes()) == before
    other = tmp_path / 'notes.json'
    other.write_text('{"summary": "mine"}\n')
    assert run(other, '--overwrite')[0] == 2
    assert other.read_text() == '{"summary": "mine"}\n'

    out = tmp_path / 'realism.json'
    assert run(out)[0] == 0
    assert next(iter(json.load(open(out)))) == 'written_by'
    code, err = run(out)
    assert code == 2 and 'pass --overwrite' in err
    assert run(out, '--overwrite')[0] == 0
    assert json.load(open(out))['summary']['num_images'] == 2
