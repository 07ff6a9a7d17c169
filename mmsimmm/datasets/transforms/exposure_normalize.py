# Copyright (c) OpenMMLab. All rights reserved.
"""Test-time exposure normalisation: the trivial, training-free reference for
day->night adaptation (scale each image so its mean matches the day mean)."""
import glob
import os.path as osp
from numbers import Number
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmsimmm.registry import TRANSFORMS

__all__ = ['ExposureNormalize', 'mean_pixel_value']


@TRANSFORMS.register_module()
class ExposureNormalize(BaseTransform):
    """Scale the image by one per-image gain so its mean becomes
    ``target_mean``.

    ``img <- clip(img * target_mean / mean(img), 0, pixel_max)``, the mean
    over all pixels and channels, so colour ratios are kept. Clipping (bright
    lamps in a dark image) can leave the output mean below the target. Meant
    for test pipelines (after ``LoadImageFromFile``): the model stays the
    day model, only its input is brightened; labels are untouched. Set
    ``target_mean`` to the mean pixel value of the day training images
    (``mean_pixel_value`` computes it).

    Required keys: ``img``. Modified keys: ``img``. Added keys:
    ``exposure_gain``.

    Args:
        target_mean: Wanted mean, in the image's scale (0-255 for images
            loaded by mmcv).
        max_gain: Upper bound of the gain (None: unbounded), so an all-black
            image does not turn its noise into full-scale values.
        pixel_max: White level used for clipping.
    """

    def __init__(self,
                 target_mean: float,
                 max_gain: Optional[float] = None,
                 pixel_max: float = 255.0):
        if not isinstance(pixel_max, Number) or pixel_max <= 0:
            raise ValueError(
                f'ExposureNormalize: pixel_max={pixel_max!r} must be > 0')
        if not isinstance(target_mean, Number) or not \
                0 < target_mean <= pixel_max:
            raise ValueError(f'ExposureNormalize: target_mean={target_mean!r}'
                             f' must be in (0, pixel_max={pixel_max}]')
        if max_gain is not None and (not isinstance(max_gain, Number)
                                     or max_gain <= 0):
            raise ValueError(
                f'ExposureNormalize: max_gain={max_gain!r} must be > 0')
        self.target_mean = float(target_mean)
        self.max_gain = None if max_gain is None else float(max_gain)
        self.pixel_max = float(pixel_max)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('ExposureNormalize: results has no key "img" '
                           '(put it after LoadImageFromFile)')
        img = results['img']
        pixels = img.astype(np.float32)
        # an all-black image has no exposure to correct: keep it (gain 1)
        mean = float(pixels.mean())
        gain = self.target_mean / mean if mean > 0 else 1.0
        if self.max_gain is not None:
            gain = min(gain, self.max_gain)
        out = np.clip(pixels * gain, 0.0, self.pixel_max)
        if np.issubdtype(img.dtype, np.integer):
            out = np.round(out)
        results['img'] = out.astype(img.dtype)
        results['exposure_gain'] = gain
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(target_mean={self.target_mean}, '
                f'max_gain={self.max_gain}, pixel_max={self.pixel_max})')


def mean_pixel_value(img_dir: str, suffix: str = '.png') -> float:
    """Mean pixel value (all pixels and channels, 0-255) of the images with
    ``suffix`` under ``img_dir`` (recursively): the ``target_mean`` of
    ``ExposureNormalize`` for a day training set."""
    paths = sorted(
        glob.glob(osp.join(img_dir, '**', f'*{suffix}'), recursive=True))
    if not paths:
        raise FileNotFoundError(
            f'mean_pixel_value: no *{suffix} images under {img_dir}')
    total, count = 0.0, 0
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'mean_pixel_value: cannot read {path}')
        total += float(img.astype(np.float64).sum())
        count += img.size
    return total / count
