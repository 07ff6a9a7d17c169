"""Pipeline transforms: darkening baselines, exposure normalisation, two
views with shared geometry and independent photometry (stage 2), and the
reference's segmentation test protocol."""
from .augmentations import (PairedCutout, PerViewColorJitter,
                            PerViewGaussianBlur, RandomCenterZoom)
from .darkening import RandomDarken
from .evaluation import ResizeForEvaluation
from .exposure_normalize import ExposureNormalize, mean_pixel_value
from .loading import CheckedLoadAnnotations, CheckedLoadImageFromFile
from .multi_view import PackViews, PairedPhotometricViews

__all__ = [
    'CheckedLoadImageFromFile', 'CheckedLoadAnnotations',
    'RandomDarken', 'ExposureNormalize', 'mean_pixel_value',
    'PairedPhotometricViews', 'PackViews', 'RandomCenterZoom',
    'PerViewGaussianBlur', 'PairedCutout', 'PerViewColorJitter',
    'ResizeForEvaluation'
]
