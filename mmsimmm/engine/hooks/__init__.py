# Copyright (c) OpenMMLab. All rights reserved.
from .adabn_hook import AdaBNHook, reestimate_bn_statistics  # noqa: F401

__all__ = ['AdaBNHook', 'reestimate_bn_statistics']
