# Copyright (c) peclr_mm authors. All rights reserved.
"""The study's encoder analyses (latent equivariance, retrieval, the same
hand across appearances, SiMHand's pose weights) and the command-line
arguments they share. Each is a script run from the repository root::

    python projects/reproduction/analysis/equivariance.py --data DATA \\
        --encoder peclr=CKPT --out work_dirs/equivariance
"""
