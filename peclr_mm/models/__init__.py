# Copyright (c) peclr_mm authors. All rights reserved.
from .algorithms import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .pose_estimators import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
