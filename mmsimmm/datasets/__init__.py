# Copyright (c) OpenMMLab. All rights reserved.
import importlib.util

from .synthetic_streets import generate_synthetic_streets, render_night  # noqa
from .transforms import *  # noqa: F401,F403
from .synthetic_objects import generate_synthetic_objects  # noqa: F401
# CODaN subclasses mmpretrain's CustomDataset; mmpretrain is optional
if importlib.util.find_spec('mmpretrain') is not None:
    from .codan import CODaNDataset  # noqa: F401
