# Copyright (c) OpenMMLab. All rights reserved.
from .darkening import (ConstantExposure, darken_images, exposure_caption,
                        image_means, list_images, pair_grid, read_rgb)
from .feature_stats import (gaussian_mmd2, median_heuristic_bandwidth,
                            paired_cosine_similarity, pooled, tsne)
from .test_set_visualization_hook import TestSetVisualizationHook

__all__ = [
    'ConstantExposure', 'darken_images', 'exposure_caption', 'image_means',
    'list_images', 'pair_grid', 'read_rgb', 'gaussian_mmd2',
    'median_heuristic_bandwidth', 'paired_cosine_similarity', 'pooled',
    'tsne', 'TestSetVisualizationHook'
]
