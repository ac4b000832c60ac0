# Copyright (c) peclr_mm authors. All rights reserved.
import json
import os.path as osp

import numpy as np
import pytest

from tools.benchmarks.reproduce_claim import main
from tools.benchmarks.reproduce_report import verdict


def test_reproduction_protocol_runs_end_to_end(tmp_path):
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
    out = tmp_path / 'smoke'
    res = json.load(open(out / 'results.json'))
    rows = res['rows']
    # the mean-pose reference + 3 encoders x (ridge + probe + fine-tune) on
    # one fraction and seed after the last epoch, and the two pretrained
    # encoders' checkpoints of epoch 1 the same three ways
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
    # A second call reuses every finished run: the same numbers come back.
    assert main(['--budget', 'smoke', '--out', str(tmp_path)]) == 0
    again = json.load(open(out / 'results.json'))['rows']
    assert [r.get('freihand/PA-EPE', r.get('uv_l1')) for r in again] == [
        r.get('freihand/PA-EPE', r.get('uv_l1')) for r in res['rows']
    ]


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


def test_eval_epochs_must_end_at_the_last_epoch():
    from mmengine.config import Config

    from tools.benchmarks.reproduce_claim import eval_epochs
    b = Config(dict(pretrain=dict(max_epochs=20)))
    assert eval_epochs(b) == [20]
    b.pretrain.eval_epochs = [10, 3, 20]
    assert eval_epochs(b) == [3, 10, 20]
    for bad in ([3, 10], [0, 20], [3, 30]):
        b.pretrain.eval_epochs = bad
        with pytest.raises(ValueError, match='eval_epochs'):
            eval_epochs(b)
