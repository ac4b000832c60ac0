# Copyright (c) peclr_mm authors. All rights reserved.
"""Shared fixtures: the mmpose default scope and a small synthetic FreiHAND
set written by the project's own generator."""
import os

import pytest
from mmengine.registry import init_default_scope

import peclr_mm  # noqa: F401 (registers every module)

init_default_scope('mmpose')
os.environ.setdefault('OMP_NUM_THREADS', '2')
