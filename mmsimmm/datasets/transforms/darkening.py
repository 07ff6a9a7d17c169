# Copyright (c) OpenMMLab. All rights reserved.
"""Darkening augmentation: the cheap day->night baselines of SMM's paper
(Table 2 style rows: brightness scaling, gamma curve, optional sensor noise).

These run in the data pipeline on ``results['img']`` (BGR, uint8 or float in
``[0, pixel_max]``); labels and every other key are left untouched, so they
can go anywhere after ``LoadImageFromFile`` in an mmseg / mmpretrain / mmdet
pipeline. Randomness comes from numpy's global RNG, as in mmcv's transforms:
mmengine seeds it per dataloader worker, so workers do not repeat each other.
"""
from numbers import Number
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmsimmm.registry import TRANSFORMS

__all__ = ['RandomDarken']


def _check_range(name: str, value, low: float, high: float) -> Tuple:
    if (not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, Number) for v in value)
            or not low <= value[0] <= value[1] <= high):
        raise ValueError(f'RandomDarken: {name}={value!r} must be a pair '
                         f'(min, max) with {low} <= min <= max <= {high}')
    return float(value[0]), float(value[1])


@TRANSFORMS.register_module()
class RandomDarken(BaseTransform):
    """Randomly darken the image, optionally with sensor noise.

    With probability ``prob`` the image ``x`` (scaled to ``[0, 1]``) becomes

    - ``mode='brightness'``: ``x * b``, ``b ~ U(brightness_range)``;
    - ``mode='gamma'``: ``x ** g * b``, ``g ~ U(gamma_range)``,
      ``b ~ U(brightness_range)``;

    then, if ``noise_std_range`` is given, ``+ N(0, sigma)`` per pixel and
    channel with ``sigma ~ U(noise_std_range)`` (in ``[0, 1]`` units), is
    clipped to ``[0, 1]`` and returned in the input's dtype and scale
    (uint8 is rounded). One ``b``, ``g`` and ``sigma`` per image; the
    channels keep their ratios (up to noise), so the colour cast is kept.

    Draw order (numpy global RNG): apply-or-not, ``b``, ``g`` (gamma mode),
    ``sigma`` and the noise (when noise is on).

    Required keys: ``img``. Modified keys: ``img``. Added keys:
    ``darken_params`` (dict with ``brightness``, ``gamma``, ``noise_std``;
    empty when the image was left as it was).

    Args:
        mode: ``'brightness'`` or ``'gamma'``.
        prob: Probability of darkening an image.
        brightness_range: Range of the gain ``b``, within ``[0, 1]``.
        gamma_range: Range of the exponent ``g`` (gamma mode), ``>= 0``.
        noise_std_range: Range of the noise standard deviation in
            ``[0, 1]`` units, or None for no noise.
        pixel_max: The white level of the input (255 for images loaded by
            mmcv, uint8 or ``to_float32``).
    """

    MODES = ('brightness', 'gamma')

    def __init__(self,
                 mode: str = 'brightness',
                 prob: float = 0.5,
                 brightness_range: Sequence[float] = (0.1, 1.0),
                 gamma_range: Sequence[float] = (1.0, 5.0),
                 noise_std_range: Optional[Sequence[float]] = None,
                 pixel_max: float = 255.0):
        if mode not in self.MODES:
            raise ValueError(f'RandomDarken: mode={mode!r} is not one of '
                             f'{self.MODES}')
        if not isinstance(prob, Number) or not 0 <= prob <= 1:
            raise ValueError(f'RandomDarken: prob={prob!r} must be in [0, 1]')
        if not isinstance(pixel_max, Number) or pixel_max <= 0:
            raise ValueError(
                f'RandomDarken: pixel_max={pixel_max!r} must be > 0')
        self.mode = mode
        self.prob = float(prob)
        self.brightness_range = _check_range('brightness_range',
                                             brightness_range, 0.0, 1.0)
        self.gamma_range = _check_range('gamma_range', gamma_range, 0.0,
                                        float('inf'))
        self.noise_std_range = None if noise_std_range is None else \
            _check_range('noise_std_range', noise_std_range, 0.0, 1.0)
        self.pixel_max = float(pixel_max)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('RandomDarken: results has no key "img" '
                           '(put it after LoadImageFromFile)')
        img = results['img']
        if np.random.rand() >= self.prob:
            results['darken_params'] = {}
            return results
        unit = img.astype(np.float32) / self.pixel_max
        brightness = np.random.uniform(*self.brightness_range)
        gamma = 1.0
        if self.mode == 'gamma':
            gamma = np.random.uniform(*self.gamma_range)
            # clip first: float inputs may hold small negatives after resize
            unit = np.clip(unit, 0.0, 1.0)**gamma
        unit = unit * brightness
        noise_std = 0.0
        if self.noise_std_range is not None:
            noise_std = np.random.uniform(*self.noise_std_range)
            unit = unit + np.random.normal(
                0.0, noise_std, unit.shape).astype(np.float32)
        out = np.clip(unit, 0.0, 1.0) * self.pixel_max
        if np.issubdtype(img.dtype, np.integer):
            out = np.round(out)
        results['img'] = out.astype(img.dtype)
        results['darken_params'] = dict(
            brightness=float(brightness), gamma=float(gamma),
            noise_std=float(noise_std))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mode={self.mode!r}, prob={self.prob}, '
                f'brightness_range={self.brightness_range}, '
                f'gamma_range={self.gamma_range}, '
                f'noise_std_range={self.noise_std_range}, '
                f'pixel_max={self.pixel_max})')
