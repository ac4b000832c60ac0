# Copyright (c) peclr_mm authors. All rights reserved.
"""Checks that the paper-scale reproduction can run: every paper-scale
config at FreiHAND's real size (``fullsize_dry_run.py``) and the
throughput of a lent GPU (``gpu_check.py``). Scripts run from the
repository root::

    python projects/reproduction/benchmarks/gpu_check.py --quick \\
        --device cpu
"""
