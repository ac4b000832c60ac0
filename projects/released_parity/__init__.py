# Copyright (c) peclr_mm authors. All rights reserved.
"""Whether ``tools/test.py`` with the released-model configs scores a
checkpoint in the release's key layout as the authors' own test script
does (see this folder's README.md). Run from the repository root::

    python projects/released_parity/released_parity.py

``import peclr_mm`` never loads this package."""
