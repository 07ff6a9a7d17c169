# Copyright (c) OpenMMLab. All rights reserved.
import importlib.util

from .synthetic_streets import generate_synthetic_streets, render_night  # noqa
from .transforms import *  # noqa: F401,F403
from .synthetic_objects import generate_synthetic_objects  # noqa: F401
# CODaN subclasses mmpretrain's CustomDataset; mmpretrain is optional
if importlib.util.find_spec('mmpretrain') is not None:
    from .codan import CODaNDataset  # noqa: F401
# place recognition: SfM-120k tuples (training) and Tokyo 24/7 (test)
from .retrieval_sfm import (SfM120kImageDataset, SfM120kTupleDataset,  # noqa
                            cid2filename, tuple_collate)
from .tokyo247 import Tokyo247Dataset  # noqa: F401
