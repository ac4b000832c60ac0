# Copyright (c) peclr_mm authors. All rights reserved.
"""The reproduction study of the PeCLR paper's claim at small scale (see
this folder's README.md). Its scripts run from the repository root::

    python -m projects.reproduction.reproduce_claim --budget cpu \\
        --out work_dirs/reproduce

``import peclr_mm`` never loads this package."""
