# Copyright (c) peclr_mm authors. All rights reserved.
"""Smoke test of tools/benchmarks: each script runs with ``--quick``, exits
0 and prints its summary with a ratio (the numbers are not checked: they
depend on the machine)."""
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RATIO = re.compile(r'^ratio .*\d+\.\d+', re.MULTILINE)
VERDICT = re.compile(r'^target .*(PASS|FAIL)$', re.MULTILINE)


@pytest.mark.parametrize('script, verdicts', [
    ('bench_pipeline.py', 2),
    ('bench_step.py', 2),
    ('bench_loss.py', 0),
    ('bench_onnx.py', 0),
])
def test_benchmark_quick(script, verdicts):
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'benchmarks', script)]
    proc = subprocess.run(
        cmd + ['--quick'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'==== {script[:-3]} summary' in proc.stdout
    assert RATIO.search(proc.stdout), proc.stdout
    assert len(VERDICT.findall(proc.stdout)) == verdicts, proc.stdout


def _bench_iteration(config, root, tmp_path, *extra):
    """bench_iteration.py on ``config`` for a few iterations, one round;
    its json, with the cached variant's cache filled first and the
    uncached one's not."""
    import json

    from tools.benchmarks.bench_iteration import main
    out = tmp_path / 'iteration.json'
    assert main([
        config, '--data', root, '--skip', '1', '--bare-steps', '2', '--rounds',
        '1', '--out',
        str(out), *extra
    ]) == 0
    res = json.load(open(out))
    (row, ) = res['rounds']
    assert row['config']['cache_fill_s'] > 0
    assert row['nocache']['cache_fill_s'] is None
    return res


def test_bench_iteration_times_both_variants(synthetic_root, tmp_path):
    res = _bench_iteration(
        'configs/hand25d/'
        'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py',
        synthetic_root, tmp_path, '--iters', '4', '--pipeline-samples', '8')
    for variant in ('config', 'nocache'):
        r = res['variants'][variant]
        assert r['iteration_s'] > 0 and r['bare_step_s'] > 0
        assert r['ratio_to_bare'] == pytest.approx(r['iteration_s'] /
                                                   r['bare_step_s'])
    assert set(res['transforms_ms_per_sample']) >= {
        'LoadHandImage', 'WarpView', 'GenerateTarget'
    }


def test_bench_iteration_times_a_cross_version_pretraining(
        synthetic_root, tmp_path):
    """Two views per sample, each from a random version: the bare step
    takes the views' list, both cached loaders are found and switched."""
    res = _bench_iteration(
        'configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py',
        synthetic_root, tmp_path, '--cross-version', '16', '--batch-size', '8',
        '--iters', '3', '--pipeline-samples', '4')
    assert res['variants']['config']['bare_step_s'] > 0
    steps = res['transforms_ms_per_sample']
    assert 'MultiViewWithGeometry/LoadRandomVersion' in steps
    assert 'LoadHandImage' not in steps  # each view decodes its own
    assert {
        name.split('/')[-1]
        for name in steps if name.startswith('MultiViewWithGeometry/')
    } == {
        'LoadRandomVersion', 'HandCanonicalCrop', 'RandomSimilarity',
        'WarpView', 'HSVJitter'
    }
