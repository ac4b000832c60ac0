# Copyright (c) peclr_mm authors. All rights reserved.
"""tools/benchmarks/fullsize_dry_run.py on a 16-image set: the stages run,
resume from their results, and the table is written."""
import json

from tools.benchmarks.fullsize_dry_run import main


def test_dry_run_stages_resume(tmp_path, capsys):
    out = str(tmp_path / 'dry')
    args = [
        '--quick', '--data',
        str(tmp_path / 'data'), '--out', out, '--work-dir',
        str(tmp_path / 'work'), '--stages', 'data',
        'finetune random-init rn50', 'submission'
    ]
    assert main(args) == 0
    result = json.load(open(out + '.json'))
    run = result['finetune random-init rn50']
    assert run['dataset_len'] == 16 and run['batch_size'] == 4
    assert run['samples_per_s'] > 0 and run['params_m'] > 20
    assert result['submission']['predictions'] == 4
    assert '| finetune random-init rn50 | 4 | 0 |' in open(out + '.md').read()
    capsys.readouterr()
    assert main(args) == 0  # every stage reused
    assert capsys.readouterr().out.count(': reused') == 3
