"""Low-light sensor noise for the darkened views of stage 2 (beyond the paper).

A curve cannot make noise: the darkener's output is a clean, smoothly darkened
image, while a real night photo is a few photons amplified by the camera's
gain. This module adds heteroscedastic Poisson-Gaussian noise in linear space
(Foi et al., TIP 2008) with the priors of Brooks et al., "Unprocessing Images
for Learned Raw Denoising" (CVPR 2019), then optionally re-quantises to 8 bit.
Nothing here is fitted to any dataset: the ranges are the published ones.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from mmsimmm.registry import MODELS


def srgb_to_linear(img: Tensor) -> Tensor:
    """Inverse sRGB transfer curve, [0, 1] -> [0, 1]."""
    img = img.clamp(0, 1)
    return torch.where(img <= 0.04045, img / 12.92,
                       ((img + 0.055) / 1.055)**2.4)


def linear_to_srgb(img: Tensor) -> Tensor:
    """sRGB transfer curve, [0, 1] -> [0, 1] (clips first)."""
    img = img.clamp(0, 1)
    return torch.where(img <= 0.0031308, img * 12.92,
                       1.055 * img.clamp(min=0.0031308)**(1 / 2.4) - 0.055)


def quantize_8bit(img: Tensor) -> Tensor:
    """Round [0, 1] images to the 256 levels an 8-bit image file holds."""
    return img.clamp(0, 1).mul(255).round_().div_(255)


@MODELS.register_module()
class LowLightSensorNoise:
    """Poisson-Gaussian noise on sRGB images in [0, 1].

    Per sample: log(shot) ~ U(log shot_range), log(read) = 2.18 log(shot) +
    1.20 + N(0, 0.26) (Brooks et al. 2019); in linear space
    x' = x + sqrt(shot * x + read) * N(0, 1) per pixel and channel; back to
    sRGB, clipped to [0, 1].

    Args:
        shot_range: range of the shot-noise variance factor.
        read_line: (slope, intercept, std) of log(read) given log(shot).
        prob: probability that a sample gets noise.
    """

    def __init__(self,
                 shot_range: Tuple[float, float] = (1e-4, 1.2e-2),
                 read_line: Tuple[float, float, float] = (2.18, 1.20, 0.26),
                 prob: float = 1.0):
        low, high = shot_range
        if not 0 < low <= high:
            raise ValueError('LowLightSensorNoise: shot_range must satisfy '
                             f'0 < low <= high, got {shot_range}')
        if not 0 <= prob <= 1:
            raise ValueError(
                f'LowLightSensorNoise: prob must be in [0, 1], got {prob}')
        self.shot_range = (float(low), float(high))
        self.read_line = tuple(float(v) for v in read_line)
        self.prob = prob

    def sample_levels(self, num: int, device=None,
                      generator: Optional[torch.Generator] = None):
        """Per-sample (shot, read) variances, each (num, 1, 1, 1); zero for
        samples left clean (probability 1 - prob)."""
        options = dict(device=device, generator=generator)
        low, high = (math.log(v) for v in self.shot_range)
        log_shot = low + (high - low) * torch.rand(num, **options)
        slope, intercept, std = self.read_line
        log_read = slope * log_shot + intercept + std * torch.randn(
            num, **options)
        keep = (torch.rand(num, **options) < self.prob).float()
        shape = (num, 1, 1, 1)
        return ((log_shot.exp() * keep).reshape(shape),
                (log_read.exp() * keep).reshape(shape))

    def __call__(self, img: Tensor,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        if img.dim() != 4:
            raise ValueError('LowLightSensorNoise expects (N, C, H, W) images;'
                             f' got shape {tuple(img.shape)}')
        shot, read = self.sample_levels(img.shape[0], img.device, generator)
        linear = srgb_to_linear(img)
        std = (shot.to(linear) * linear + read.to(linear)).sqrt()
        noise = torch.randn(
            img.shape, device=img.device, generator=generator).to(linear)
        return linear_to_srgb(linear + std * noise)
