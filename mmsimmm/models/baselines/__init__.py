# Copyright (c) OpenMMLab. All rights reserved.
"""Cheap day->night baselines that SMM is compared with (issue 14): CIConv,
MixStyle. Darkening augmentation and exposure normalisation are pipeline
transforms (mmsimmm.datasets.transforms), AdaBN a hook
(mmsimmm.engine.hooks)."""
from .ciconv import CIConv2d, CIConvBackbone, gaussian_derivative_filters
from .mixstyle import MixStyle, add_mixstyle, build_mixstyle_backbone

__all__ = [
    'CIConv2d', 'CIConvBackbone', 'gaussian_derivative_filters', 'MixStyle',
    'add_mixstyle', 'build_mixstyle_backbone'
]
