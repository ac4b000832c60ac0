# Copyright (c) peclr_mm authors. All rights reserved.
import os

import numpy as np
import pytest

from peclr_mm.datasets.similar_hands import (descriptor_distance,
                                             load_similar_hands,
                                             mine_similar_hands,
                                             mining_fingerprint,
                                             pose_descriptor,
                                             write_similar_hands)


def _poses(n=60, seed=0):
    rng = np.random.default_rng(seed)
    uv = rng.uniform(0, 200, (n, 21, 2))
    uv[:, 9] = uv[:, 0] + rng.uniform(30, 60, (n, 2))  # a real palm
    return uv


def test_descriptor_ignores_position_and_size_not_orientation():
    uv = _poses(2)
    moved = uv * 1.7 + np.array([40., -25.])
    np.testing.assert_allclose(pose_descriptor(moved), pose_descriptor(uv))
    assert (pose_descriptor(uv)[:, 0] == 0).all()
    np.testing.assert_allclose(
        np.linalg.norm(pose_descriptor(uv)[:, 9], axis=-1), 1.)
    turned = uv.copy()
    turned[..., 0] = -uv[..., 0]  # mirrored: another pose as seen
    assert np.abs(pose_descriptor(turned) - pose_descriptor(uv)).max() > .1
    with pytest.raises(ValueError, match='finite'):
        pose_descriptor(np.full((1, 21, 2), np.nan))
    with pytest.raises(ValueError, match=r'\(N, 21, 2\)'):
        pose_descriptor(np.zeros((3, 20, 2)))


def test_mining_finds_a_planted_duplicate_first():
    uv = _poses()
    uv[10] = uv[3] * 0.5 + 7.  # the same pose, elsewhere and smaller
    res = mine_similar_hands(uv, k=4, chunk=16)
    desc = pose_descriptor(uv)
    # the distances are the descriptors' RMS per-joint distances
    np.testing.assert_allclose(
        res['distance'],
        descriptor_distance(desc[:, None], desc[res['index']]),
        rtol=1e-9,
        atol=1e-12)
    assert descriptor_distance(desc[1], desc[2]) == pytest.approx(
        np.sqrt(((desc[1] - desc[2])**2).sum(-1).mean()))
    assert res['index'][3, 0] == 10 and res['index'][10, 0] == 3
    assert res['distance'][3, 0] == pytest.approx(0., abs=1e-9)
    # never itself, nearest first, distances as the descriptors say
    n = len(uv)
    assert not (res['index'] == np.arange(n)[:, None]).any()
    assert (np.diff(res['distance'], axis=1) >= 0).all()
    desc = pose_descriptor(uv)
    j = res['index'][5, 1]
    rms = np.sqrt(((desc[5] - desc[j])**2).sum(-1).mean())
    assert res['distance'][5, 1] == pytest.approx(rms)
    # a group (e.g. versions of one hand) never pairs within itself
    groups = np.arange(n)
    groups[10] = 3
    grouped = mine_similar_hands(uv, k=4, groups=groups)
    assert 10 not in grouped['index'][3] and 3 not in grouped['index'][10]
    with pytest.raises(ValueError, match='candidates'):
        mine_similar_hands(uv[:4], k=4)


def test_mining_resumes_to_the_same_result(tmp_path):
    uv = _poses(50, seed=1)
    full = mine_similar_hands(uv, k=3, chunk=7)
    seen = []

    def stop_after_two(done, total, partial):
        seen.append(done)
        if len(seen) == 2:
            write_similar_hands(
                str(tmp_path / 'p.npz'), partial, num_images=total)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mine_similar_hands(uv, k=3, chunk=7, progress=stop_after_two)
    assert seen == [7, 14]
    partial = load_similar_hands(str(tmp_path / 'p.npz'))
    resumed = mine_similar_hands(uv, k=3, chunk=7, done=partial)
    for key in ('index', 'distance'):
        np.testing.assert_array_equal(resumed[key], full[key])


def test_file_round_trip_and_checks(tmp_path):
    uv = _poses(20)
    res = mine_similar_hands(uv, k=2)
    path = str(tmp_path / 'sim.npz')
    write_similar_hands(path, res, source='ground truth', k=2)
    back = load_similar_hands(path, num_images=20, k=2)
    np.testing.assert_array_equal(back['index'], res['index'])
    assert str(back['source']) == 'ground truth'
    with pytest.raises(ValueError, match='20 rows'):
        load_similar_hands(path, num_images=21)
    with pytest.raises(ValueError, match='2 neighbours'):
        load_similar_hands(path, k=3)
    with pytest.raises(FileNotFoundError, match='mine_similar_hands'):
        load_similar_hands(str(tmp_path / 'missing.npz'))
    bad = dict(res, index=res['index'] + 100)
    write_similar_hands(path, bad)
    with pytest.raises(ValueError, match='outside'):
        load_similar_hands(path)


def test_tool_mines_a_split_resumes_and_keeps_files(synthetic_root, tmp_path,
                                                    capsys):
    """tools/mine_similar_hands.py on the FreiHAND layout: every annotation
    gets k others, a stopped run continues from its partial file to the
    same result, and an existing output is never overwritten."""
    import json

    from tools.mine_similar_hands import main
    out = tmp_path / 'sim.npz'
    args = [
        '--data', synthetic_root, '--k', '3', '--chunk', '10', '--out',
        str(out)
    ]
    assert main(args) == 0
    full = load_similar_hands(str(out), num_images=24, k=3)
    assert str(full['source']) == 'training ground truth'
    assert not (tmp_path / 'sim.npz.partial.npz').exists()
    assert main(args) == 2 and 'exists' in capsys.readouterr().err
    # a partial file of the first 10 rows: the run continues from it
    part = {k: full[k][:10] for k in ('index', 'distance')}
    resumed = tmp_path / 'resumed.npz'
    write_similar_hands(
        f'{resumed}.partial.npz',
        part,
        source='training ground truth',
        k=3,
        num_images=24,
        fingerprint=mining_fingerprint(full['poses'], 3))
    assert main(args[:-1] + [str(resumed)]) == 0
    assert 'continuing' in capsys.readouterr().out
    np.testing.assert_array_equal(
        load_similar_hands(str(resumed))['index'], full['index'])
    # pseudo-labels from a file, refused when malformed
    kp = tmp_path / 'kp.json'
    kp.write_text(json.dumps(np.zeros((5, 20, 2)).tolist()))
    assert main([
        '--data', synthetic_root, '--keypoints',
        str(kp), '--out',
        str(tmp_path / 'kp.npz')
    ]) == 2
    assert '(N, 21, 2)' in capsys.readouterr().err


def test_pairs_of_similar_hands_through_the_pipeline(synthetic_root, tmp_path):
    """View 2 is a mined neighbour (never the image itself), in its own
    image and crop; both views record their geometry and pose; the head
    weights the loss by the pose distances."""
    import torch
    from mmengine.dataset import default_collate
    from mmpose.registry import DATASETS, MODELS

    from peclr_mm.datasets.freihand3d import load_freihand_annotations
    from peclr_mm.datasets.transforms import LoadSimilarHand
    from peclr_mm.utils.camera import project
    from tools.mine_similar_hands import main
    sim = str(tmp_path / 'sim.npz')
    assert main(['--data', synthetic_root, '--k', '3', '--out', sim]) == 0
    mined = load_similar_hands(sim)
    ann = load_freihand_annotations(synthetic_root, 'training')
    np.testing.assert_allclose(mined['poses'], project(ann['xyz'], ann['K']))
    view = [
        dict(type='HandCanonicalCrop', input_size=32, padding=1.),
        dict(type='RandomSimilarity'),
        dict(type='WarpView')
    ]
    ds = DATASETS.build(
        dict(
            type='FreiHand3DDataset',
            data_root=synthetic_root,
            pipeline=[
                dict(type='LoadHandImage'),
                dict(
                    type='MultiViewWithGeometry',
                    transforms=[
                        [
                            dict(
                                type='LoadSimilarHand',
                                similar_file=sim,
                                partner=False)
                        ] + view,
                        [dict(type='LoadSimilarHand', similar_file=sim, k=3)] +
                        view
                    ]),
                dict(type='PackPeCLRInputs')
            ]))
    load = LoadSimilarHand(sim, k=3)
    np.random.seed(0)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        out = load(dict(info))
        j = out['sample_id']
        assert j != info['sample_id'] and j in mined['index'][
            info['sample_id']]
        assert out['img_path'].endswith(f'{out["img_id"]:08d}.jpg')
        assert out['img_id'] % info['num_annotations'] == j
        np.testing.assert_allclose(
            out['keypoints'][0], mined['poses'][j], rtol=1e-6)
        assert 'K' not in out and 'keypoints_3d' not in out
    # view 1 keeps its own hand, in a random version of its image
    own = LoadSimilarHand(sim, partner=False)
    seen = set()
    for _ in range(12):
        info = ds.get_data_info(1)
        out = own(dict(info))
        assert out['sample_id'] == info['sample_id']
        assert out['img_id'] % info['num_annotations'] == info['sample_id']
        assert out['img_path'].endswith(f'{out["img_id"]:08d}.jpg')
        np.testing.assert_allclose(out['keypoints'], info['keypoints'])
        seen.add(out['version'])
    assert seen == set(range(info['num_versions']))
    packed = [ds[i] for i in range(4)]
    meta = packed[0]['data_samples'].metainfo
    assert meta['view_pose_2d'].shape == (2, 21, 2)
    assert meta['view_theta'].shape == (2, )
    assert not np.allclose(meta['view_pose_2d'][0], meta['view_pose_2d'][1])
    batch = default_collate(packed)
    head = MODELS.build(
        dict(type='EquivariantContrastiveHead', pose_weighting='linear'))
    plain = MODELS.build(dict(type='EquivariantContrastiveHead'))
    torch.manual_seed(0)
    p1, p2 = torch.randn(4, 16), torch.randn(4, 16)
    weighted = head.loss(p1, p2, batch['data_samples'])['loss']
    unweighted = plain.loss(p1, p2, batch['data_samples'])['loss']
    assert torch.isfinite(weighted) and weighted != unweighted
    with pytest.raises(ValueError, match='pose_weighting'):
        MODELS.build(
            dict(type='EquivariantContrastiveHead', pose_weighting='soft'))


def test_resume_is_keyed_on_the_poses_content(synthetic_root, tmp_path,
                                              capsys):
    """A run stopped half way, its keypoints rewritten with other poses of
    the same count: the rerun says so and starts afresh (no stale rows);
    the same poses continue; --k changed restarts too."""
    import json

    from tools.mine_similar_hands import main
    rng = np.random.default_rng(0)
    old, new = (rng.uniform(20, 200, (30, 21, 2)) for _ in range(2))
    kp, out = tmp_path / 'kp.json', tmp_path / 'sim.npz'
    partial = f'{out}.partial.npz'
    args = [
        '--data', synthetic_root, '--keypoints',
        str(kp), '--k', '3', '--chunk', '10', '--out',
        str(out)
    ]
    kp.write_text(json.dumps(old.tolist()))
    stale = mine_similar_hands(old, k=3)
    half = {key: stale[key][:10] for key in ('index', 'distance')}
    write_similar_hands(
        partial,
        half,
        source=f'keypoints {kp}',
        k=3,
        num_images=30,
        fingerprint=mining_fingerprint(old, 3))
    kp.write_text(json.dumps(new.tolist()))  # same count, other poses
    assert main(args) == 0
    said = capsys.readouterr().out
    assert 'other poses or parameters' in said and 'starting afresh' in said
    assert 'continuing' not in said
    fresh = mine_similar_hands(new, k=3)
    np.testing.assert_array_equal(
        load_similar_hands(str(out))['index'], fresh['index'])
    # the same poses continue from their rows
    os.remove(out)
    write_similar_hands(
        partial, {key: fresh[key][:10]
                  for key in ('index', 'distance')},
        num_images=30,
        fingerprint=mining_fingerprint(new, 3))
    assert main(args) == 0
    assert 'continuing' in capsys.readouterr().out
    os.remove(out)
    write_similar_hands(
        partial, half, num_images=30, fingerprint=mining_fingerprint(new, 4))
    assert main(args) == 0
    assert 'starting afresh' in capsys.readouterr().out
    # a partial of an older version (no fingerprint) is not trusted
    os.remove(out)
    write_similar_hands(partial, half, k=3, num_images=30)
    assert main(args) == 0
    assert 'no fingerprint' in capsys.readouterr().out


@pytest.mark.parametrize('text, expected', [
    ('{"0": []}', 'got an object'), ('[]', 'empty array'),
    ('[[[1, 2]], [[1, 2], [3, 4]]]', 'entry 0 is of shape (1, 2)'),
    ('[[[1, 2], [3, 4]', 'not valid JSON'),
    ('[' + ','.join(['[[1, 2]]'] * 2) + ']', 'entry 0 is of shape (1, 2)'),
    ('[null]', 'entry 0 is not an array of numbers'),
    ('[[["a", 1]]]', 'entry 0 is not an array of numbers')
])
def test_tool_bad_keypoints_one_line(synthetic_root, tmp_path, capsys, text,
                                     expected):
    """A dict, a ragged, a truncated or a non-numeric json: one line
    naming the file and what was expected, exit 2."""
    from tools.mine_similar_hands import main
    kp = tmp_path / 'kp.json'
    kp.write_text(text)
    assert main([
        '--data', synthetic_root, '--keypoints',
        str(kp), '--out',
        str(tmp_path / 'o.npz')
    ]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and str(kp) in err and expected in err
    assert '(N, 21, 2)' in err


def test_tool_never_writes_over_its_input(synthetic_root, tmp_path, capsys):
    import json

    from tools.mine_similar_hands import main
    kp = tmp_path / 'kp.json'
    text = json.dumps(np.ones((5, 21, 2)).tolist())
    kp.write_text(text)
    for extra in ([], ['--overwrite']):
        assert main([
            '--data', synthetic_root, '--keypoints',
            str(kp), '--out',
            str(kp)
        ] + extra) == 2
        assert 'is the input' in capsys.readouterr().err
    xyz = os.path.join(synthetic_root, 'training_xyz.json')
    assert main(['--data', synthetic_root, '--out', xyz, '--overwrite']) == 2
    assert 'is the input' in capsys.readouterr().err
    assert kp.read_text() == text
