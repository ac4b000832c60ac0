# Copyright (c) peclr_mm authors. All rights reserved.
"""projects/reproduction/benchmarks/fullsize_dry_run.py on a 16-image set:
the stages run, resume from their results, and the table is written; a
training stage is killed half way and resumed by tools/train.py."""
import json
import os.path as osp

from projects.reproduction.benchmarks.fullsize_dry_run import main


def test_dry_run_stages_resume(tmp_path, capsys):
    out = str(tmp_path / 'dry')
    stages = [
        'data', 'finetune random-init rn50', 'submission', 'youtube3d',
        'mix ratio', 'train pretrain peclr rn50 freihand+yt3d'
    ]
    args = [
        '--quick', '--data',
        str(tmp_path / 'data'), '--youtube3d',
        str(tmp_path / 'yt3d'), '--out', out, '--work-dir',
        str(tmp_path / 'work'), '--stages', *stages
    ]
    assert main(args) == 0
    result = json.load(open(out + '.json'))
    run = result['finetune random-init rn50']
    assert run['dataset_len'] == 16 and run['batch_size'] == 4
    assert run['samples_per_s'] > 0 and run['params_m'] > 20
    assert result['submission']['predictions'] == 4
    yt = result['youtube3d']
    assert yt['hands'] == yt['dataset_len'] == 8
    assert yt['index_first_s'] > 0 and yt['index_cached_s'] > 0
    mix = result['mix ratio']
    assert mix['source_sizes'] == [16, 8] and mix['samples'] == 128
    assert abs(sum(mix['share']) - 1) < 1e-9
    train = result['train pretrain peclr rn50 freihand+yt3d']
    # one iteration, killed after its checkpoint, resumed for the second
    assert train['first_run_iters'] == [1]
    assert train['resumed_run_iters'] == [2]
    assert osp.basename(train['checkpoint']) == 'iter_2.pth'
    assert train['checkpoint_mib'] > 90 and train['peak_pss_mib'] > 200
    assert train['s_per_iter'] > 0 and train['first_iter_s'] > 0
    md = open(out + '.md').read()
    assert '| finetune random-init rn50 | 4 | 0 |' in md
    assert '| pretrain peclr rn50 freihand+yt3d | 4 | 0 | 1-1 / 2-2 |' in md
    capsys.readouterr()
    assert main(args) == 0  # every stage reused
    assert capsys.readouterr().out.count(': reused') == len(stages)
