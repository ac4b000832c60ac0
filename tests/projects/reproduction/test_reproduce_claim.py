# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os.path as osp

import numpy as np
import pytest

from projects.reproduction.reproduce_claim import BUDGETS, main
from projects.reproduction.reproduce_report import verdict
from projects.reproduction.reproduce_state import sha256


def test_reproduction_protocol_runs_end_to_end(tmp_path):
    state = str(tmp_path / 'state')
    assert main(
        ['--budget', 'smoke', '--out',
         str(tmp_path), '--state', state]) == 0
    out = tmp_path / 'smoke'
    res = json.load(open(out / 'results.json'))
    rows = res['rows']
    # the mean-pose reference + 3 encoders x (ridge + probe + fine-tune) on
    # one fraction and seed after the last epoch, and the two pretrained
    # encoders' checkpoints of epoch 1 the same three ways
    rows = [r for r in rows if r['mode'] != 'latent']
    assert len(rows) == 10 + 6
    assert {r['encoder']
            for r in rows} == {'mean pose', 'random', 'simclr', 'peclr'}
    assert sorted((r['encoder'], r['mode']) for r in rows
                  if r.get('epoch') == 1) == sorted(
                      (e, m) for e in ('simclr', 'peclr')
                      for m in ('ridge', 'probe', 'finetune'))
    for kind in ('peclr', 'simclr'):  # points of one schedule, both kept
        for e in (1, 2):
            assert (out / f'pretrain_{kind}' / f'epoch_{e}.pth').is_file()
    # the tables hold the last epoch
    final = [r for r in rows if r.get('epoch') in (None, 2)]
    assert [c['means']
            for c in res['verdict']] == [c['means'] for c in verdict(final)]
    rows = final
    ridge = [r for r in rows if r['mode'] == 'ridge']
    assert len(ridge) == 3
    for r in ridge:
        assert r['uv_l1'] > 0 and r['zrel_l1'] > 0
        assert r['uv_ratio'] > 0 and r['lam'] in (1., 100.)
    rows = [r for r in rows if r['mode'] != 'ridge']
    for r in rows:
        assert 0 < r['freihand/PA-EPE'] < 500
        assert 0 < r['freihand/RR-EPE'] < 5000
        assert r['freihand/EPE-2D'] > 0
    # the reference sits at the true wrist: its error is all root-relative
    base, = [r for r in rows if r['mode'] == 'baseline']
    assert base['freihand/EPE'] == pytest.approx(base['freihand/RR-EPE'])
    for r in rows:
        if r['mode'] != 'baseline':
            assert r['loss_uv_first'] > 0 and r['loss_uv_last'] > 0
    table = (out / 'results.md').read_text()
    assert table.count('| probe |') == 3 and table.count('| finetune |') == 3
    assert table.count('| mean pose |') == 1
    # the ridge table
    assert sum(line.startswith('| 0.5 (24) |')
               for line in table.splitlines()) == 3
    assert osp.getsize(out / 'pa_epe_vs_labels.png') > 1000
    # the gaps against the two epochs
    scaling = (out / 'scaling.md').read_text()
    assert scaling.count('| probe | 0.5 |') == 4  # 2 metrics x 2 epochs
    assert osp.getsize(out / 'gaps_vs_epochs.png') > 1000
    # the latent analysis of every checkpoint, against epochs
    latent = [r for r in res['rows'] if r['mode'] == 'latent']
    assert sorted(
        (r['encoder'], r['epoch']) for r in latent) == [('peclr', 1),
                                                        ('peclr', 2),
                                                        ('random', None),
                                                        ('simclr', 1),
                                                        ('simclr', 2)]
    for r in latent:
        assert r['rotation_error_ratio'] > 0 and r['readout_deg'] >= 0
        assert r['readout_chance_deg'] > 0
    assert '## What the latent keeps, against epochs' in scaling
    assert '## What the latent keeps' in table
    assert osp.getsize(out / 'latent_vs_epochs.png') > 1000
    # A second call reuses every finished run: the same numbers come back.
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
    again = json.load(open(out / 'results.json'))['rows']
    assert [r.get('freihand/PA-EPE', r.get('uv_l1')) for r in again] == [
        r.get('freihand/PA-EPE', r.get('uv_l1')) for r in res['rows']
    ]
    _a_new_machine_resumes_from_the_state(tmp_path, state, res)
    _report_of_a_study_in_progress(tmp_path, res)
    _similar_hand_encoders_join(tmp_path, res)


def _a_new_machine_resumes_from_the_state(tmp_path, state, full):
    """The work folder lost, ``--state`` brings the study back: the same
    rows and stage times, nothing pretrained or trained again."""
    fresh = tmp_path / 'fresh'
    assert main(['--budget', 'smoke', '--out',
                 str(fresh), '--state', state]) == 0
    res = json.load(open(fresh / 'smoke' / 'results.json'))
    assert res['rows'] == full['rows']
    for key in ('pretrain_peclr_s', 'pretrain_simclr_s', 'finetune_s'):
        assert res['timing'][key] == pytest.approx(full['timing'][key])
    assert 'pretrain_peclr_this_call_s' not in res['timing']
    work = fresh / 'smoke'
    # the evaluated encoders came back stripped; no downstream run trained
    assert sorted(p.name for p in (work / 'pretrain_peclr').glob('*.pth')) == [
        'epoch_1.pth', 'epoch_2.pth'
    ]
    assert not list(work.glob('*/*/iter_*.pth'))
    _a_study_stopped_mid_schedule_resumes_elsewhere(tmp_path, full)


def _a_study_stopped_mid_schedule_resumes_elsewhere(tmp_path, full):
    """A study stopped after epoch 1 of its 2-epoch schedules (a budget
    that stops early, its state kept epoch by epoch) continues on a fresh
    folder from the state's whole checkpoints: epoch 2 is trained from
    epoch 1 and every fine-tuning and ridge row comes out as in the
    uninterrupted study (no probes or latent analysis: seconds)."""
    from peclr_mm.weights import safe_torch_load
    state = str(tmp_path / 'state_stop1')
    smoke = osp.join(BUDGETS, 'reproduce_smoke.py')
    for name, epochs, own_state in (('stop1', [1], True), ('both', [1, 2],
                                                           False)):
        (tmp_path / f'reproduce_{name}.py'
         ).write_text(f'_base_ = [{smoke!r}]\n'
                      f'pretrain = dict(eval_epochs={epochs})\n'
                      'modes = [\'finetune\']\n'
                      'latent = None\n' +
                      (f'state = {state!r}\n' if own_state else ''))
    # the first budget keeps its own state
    assert main([
        '--budget',
        str(tmp_path / 'reproduce_stop1.py'), '--out',
        str(tmp_path / 'first')
    ]) == 0
    kept = json.load(open(osp.join(state, 'state.json')))['files']
    assert kept['pretrain_peclr/epoch_1.pth']['kind'] == 'resume'
    second = tmp_path / 'second'
    assert main([
        '--budget',
        str(tmp_path / 'reproduce_both.py'), '--out',
        str(second), '--state', state
    ]) == 0
    res = json.load(open(second / 'both' / 'results.json'))

    def untimed(rows):  # the runs of the first study took their own time
        return [{
            k: v
            for k, v in r.items() if not k.endswith('_s')
        } for r in rows if r['mode'] not in ('probe', 'latent')]

    assert untimed(res['rows']) == untimed(full['rows'])
    # resumed, not retrained: epoch 1 is the state's, epoch 2 trained here
    pre = second / 'both' / 'pretrain_peclr'
    assert sha256(str(
        pre / 'epoch_1.pth')) == kept['pretrain_peclr/epoch_1.pth']['sha256']
    assert safe_torch_load(str(pre / 'epoch_2.pth'))['meta']['epoch'] == 2
    # the finished schedule leaves only stripped encoders in the state
    kept = json.load(open(osp.join(state, 'state.json')))['files']
    assert {
        k: f['kind']
        for k, f in kept.items() if k.endswith('.pth')
    } == {
        f'pretrain_{kind}/epoch_{e}.pth': 'strip'
        for kind in ('peclr', 'simclr')
        for e in (1, 2)
    }


def _report_of_a_study_in_progress(tmp_path, full):
    """--report-only runs nothing: with one fine-tuning's record moved
    away it reports every other row unchanged, lists that run as missing
    and leaves its cells out."""
    import os
    out = tmp_path / 'smoke'
    done = out / 'finetune' / 'peclr_e1_f0.5_s0' / 'metrics.json'
    aside = tmp_path / 'aside.json'
    os.rename(done, aside)
    assert main(['--budget', 'smoke', '--out',
                 str(tmp_path), '--report-only']) == 0
    assert not done.exists()  # not trained again
    os.rename(aside, done)
    res = json.load(open(out / 'results.json'))
    assert res['missing'] == ['finetune/peclr_e1_f0.5_s0']
    key = ('mode', 'encoder', 'epoch', 'fraction')
    partial = [tuple(r.get(k) for k in key) for r in res['rows']]
    assert ('finetune', 'peclr', 1, 0.5) not in partial
    assert partial == [
        tuple(r.get(k) for k in key) for r in full['rows'] if tuple(
            r.get(k) for k in key) != ('finetune', 'peclr', 1, 0.5)
    ]
    # the stages' times are the runs' own records, not this call's
    assert res['timing']['finetune_s'] == pytest.approx(
        full['timing']['finetune_s'])
    assert res['timing']['finetune_this_call_s'] < 5
    assert '## Not yet run (1)' in (out / 'results.md').read_text()
    scaling = (out / 'scaling.md').read_text()
    assert scaling.count('| finetune | 0.5 |') == 2  # epoch 2 only
    assert '- `finetune/peclr_e1_f0.5_s0`' in scaling


def test_report_only_needs_a_started_study(tmp_path):
    with pytest.raises(FileNotFoundError, match='--report-only: no data'):
        main(['--budget', 'smoke', '--out', str(tmp_path), '--report-only'])


def _similar_hand_encoders_join(tmp_path, smoke):
    """The similar-hand budget runs in the finished smoke folder, taking
    epoch 1 of the same 2-epoch schedules: PeCLR's and SimCLR's checkpoints
    and runs are reused; its pairs are mined from the truth and from the
    pseudo-labels of PeCLR's fine-tuned encoder (the table's own run)."""
    import os

    from peclr_mm.datasets.similar_hands import load_similar_hands
    work, out = tmp_path / 'smoke', tmp_path / 'smoke_simhand'
    done = work / 'finetune' / 'peclr_e1_f0.5_s0' / 'metrics.json'
    stamp = os.stat(done).st_mtime_ns
    assert main(['--budget', 'smoke_simhand', '--out', str(tmp_path)]) == 0
    assert os.stat(done).st_mtime_ns == stamp  # reused, not trained again
    res = json.load(open(out / 'results.json'))
    assert not (out / 'pretrain_peclr').exists()  # the runs live in `work`
    for kind in ('simhand', 'simhand_pseudo'):
        assert (work / f'pretrain_{kind}' / 'epoch_1.pth').is_file()
        assert not (work / f'pretrain_{kind}' / 'epoch_2.pth').exists()
        # the budget's options of one encoder reach its config only
        cfg, = (work / f'pretrain_{kind}').glob('*.py')
        assert ("pose_weighting='linear'"
                in cfg.read_text()) is (kind == 'simhand')
    assert all(res['timing'][f'pretrain_{kind}_s'] > 0
               for kind in ('peclr', 'simclr', 'simhand', 'simhand_pseudo'))
    rows = [r for r in res['rows'] if r['mode'] == 'finetune']
    assert sorted(r['encoder'] for r in rows) == sorted(
        ('random', 'peclr', 'simclr', 'simhand', 'simhand_pseudo'))
    assert not [r for r in res['rows'] if r['mode'] == 'probe']
    e1 = {
        (r['encoder'], r['mode']): r
        for r in smoke['rows'] if r.get('epoch') == 1
    }
    ours = {(r['encoder'], r['mode']): r for r in res['rows']}
    assert ours[('peclr', 'finetune')] == e1[('peclr', 'finetune')]
    # 48 training hands, 4 partners each, never itself
    truth = load_similar_hands(str(work / 'similar' / 'truth_k4.npz'))
    assert truth['index'].shape == (48, 4)
    assert (truth['index'] != np.arange(48)[:, None]).all()
    labeller = 'peclr_e1_f0.5_s0'
    labels = json.load(open(work / 'similar' / f'pseudo_{labeller}.json'))
    assert np.asarray(labels).shape == (48, 21, 2)
    mined = res['mining']
    assert mined['simhand_pseudo']['labeller'] == f'finetune/{labeller}'
    assert mined['simhand_pseudo']['EPE-2D'] > 0
    # pairs mined from the truth are nearer in truth than random pairs
    assert mined['simhand']['pair_true_distance'] < mined['simhand'][
        'random_pair_true_distance']
    table = (out / 'results.md').read_text()
    assert '## simhand against peclr' in table
    assert '## Similar-hand pairs' in table
    assert [c['challenger'] for c in res['versus'][0]] == ['simhand'] * 2


def test_verdict_checks_order_and_spread():

    def rows(mode, frac, values):
        return [{
            'mode': mode,
            'fraction': frac,
            'encoder': enc,
            'seed': s,
            'freihand/PA-EPE': v + d,
            'freihand/EPE-2D': 2 * (v + d)
        } for enc, v in values.items() for s, d in enumerate((-.1, 0., .1))]

    clear = rows('probe', .01, dict(peclr=30., simclr=32., random=35.))
    # SimCLR and random within the spread of the seeds (std ~0.08 each)
    close = rows('finetune', .01, dict(peclr=30., simclr=32., random=32.05))
    cells = verdict(clear + close, fractions=(.01, ))
    by = {(c['mode'], c['metric']): c for c in cells}
    assert by[('probe', 'PA-EPE')]['ordered']
    assert by[('probe', 'EPE-2D')]['ordered']
    assert by[('probe',
               'PA-EPE')]['gain_vs_random'] == pytest.approx(1 - 30 / 35)
    assert not by[('finetune', 'PA-EPE')]['ordered']
    # the stricter rule: the gap must exceed the sum of the two spreads
    # (probe PA-EPE: gap 2 against 0.08 + 0.08 holds; a gap of 0.1 does not)
    strict = verdict(
        clear +
        rows('finetune', .01, dict(peclr=30., simclr=30.1, random=35.)),
        fractions=(.01, ),
        rule='sum')
    by = {(c['mode'], c['metric']): c for c in strict}
    assert by[('probe', 'PA-EPE')]['ordered']
    assert not by[('finetune', 'PA-EPE')]['ordered']
    assert by[('probe',
               'PA-EPE')]['gaps'][0][1] == pytest.approx(2 *
                                                         np.std([-.1, 0., .1]))
    # the wrong order is never "ordered"
    swapped = rows('probe', .01, dict(peclr=32., simclr=30., random=35.))
    assert not any(c['ordered'] for c in verdict(swapped, fractions=(.01, )))


def test_eval_epochs_lie_in_the_schedule():
    from mmengine.config import Config

    from projects.reproduction.reproduce_claim import eval_epochs
    b = Config(dict(pretrain=dict(max_epochs=20)))
    assert eval_epochs(b) == [20]
    b.pretrain.eval_epochs = [10, 3, 20]
    assert eval_epochs(b) == [3, 10, 20]
    # a budget may stop early on the same schedule, never run past it
    b.pretrain.eval_epochs = [10, 3]
    assert eval_epochs(b) == [3, 10]
    for bad in ([0, 20], [3, 30]):
        b.pretrain.eval_epochs = bad
        with pytest.raises(ValueError, match='eval_epochs'):
            eval_epochs(b)


def test_train_seconds_counts_each_iteration_once(tmp_path):
    """A killed run's logged steps are replaced by the resumed run's; the
    time is the steps times the median logged iteration time."""
    from projects.reproduction.reproduce_claim import train_seconds
    assert train_seconds(str(tmp_path)) is None
    for stamp, recs in (('20260101_000000', [(50, .2), (100, .4)]),
                        ('20260101_010000', [(100, .3), (150, .5)])):
        d = tmp_path / stamp / 'vis_data'
        d.mkdir(parents=True)
        (d / 'scalars.json').write_text(''.join(
            json.dumps(dict(step=s, time=t, loss=1., epoch=s // 100 + 1)) +
            '\n' for s, t in recs) + '{"cut by a kill')
    # 150 steps at the median of .2, .3 (the resumed run's step 100) and .5
    assert train_seconds(str(tmp_path)) == pytest.approx(150 * .3)
    # the first epoch (steps 1-99) only
    assert train_seconds(str(tmp_path), 1) == pytest.approx(50 * .2)


def test_a_partial_cell_keeps_only_encoders_with_every_seed():
    from projects.reproduction.reproduce_claim import complete_seeds
    cell = [
        dict(encoder=e, seed=s) for s in (0, 1)
        for e in ('random', 'peclr', 'simclr')
    ][:-1]  # simclr's seed 1 not yet run
    kept = complete_seeds(cell, 2)
    assert [(r['encoder'], r['seed']) for r in kept] == [('random', 0),
                                                         ('peclr', 0),
                                                         ('random', 1),
                                                         ('peclr', 1)]
    assert complete_seeds(cell,
                          1) == [r for r in cell if r['encoder'] == 'simclr']
