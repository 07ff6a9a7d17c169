# Copyright (c) OpenMMLab. All rights reserved.
from .synthetic_streets import generate_synthetic_streets, render_night  # noqa
from .transforms import *  # noqa: F401,F403
