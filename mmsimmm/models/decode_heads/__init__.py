# Copyright (c) mmsimmm contributors. All rights reserved.
from .refinenet_head import RefineNetHead

__all__ = ['RefineNetHead']
