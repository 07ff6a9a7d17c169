# Copyright (c) OpenMMLab. All rights reserved.
from .synthetic_streets import generate_synthetic_streets, render_night  # noqa
