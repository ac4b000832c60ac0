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
