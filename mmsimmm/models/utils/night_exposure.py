"""Exposure maps of the darkened views of stage 2."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmsimmm.registry import MODELS


@MODELS.register_module()
class NightExposureSampler:
    """E' = U(low, high) per sample + per-pixel N(0, sigma) + per-patch
    N(0, sigma), clamped at 0.

    The patch noise is drawn on a ``floor(H / patch_size) x
    floor(W / patch_size)`` grid and resized bilinearly, as the reference
    does. The pixel noise is drawn at the resolution the map is returned at
    (``out_size``): when the darkener estimates its curves at a reduced
    resolution, the map is sampled there directly, so each value the
    darkener sees still carries the full per-pixel sigma (downsampling a
    full-resolution map would average it away).

    Args:
        exposure_range: range of the per-sample level ((0, 0.2)).
        pixel_noise_std / patch_noise_std: sigma of each noise (0.025).
        patch_size: side of a noise patch in full-resolution pixels: 64
            segmentation, 16 classification and action, 32 place
            recognition.
    """

    def __init__(self,
                 exposure_range: Tuple[float, float] = (0.0, 0.2),
                 pixel_noise_std: float = 0.025,
                 patch_noise_std: float = 0.025,
                 patch_size: int = 64):
        low, high = exposure_range
        if not 0 <= low <= high:
            raise ValueError('NightExposureSampler: exposure_range must be '
                             f'0 <= low <= high, got {exposure_range}')
        if patch_size < 1:
            raise ValueError('NightExposureSampler: patch_size must be >= 1, '
                             f'got {patch_size}')
        self.exposure_range = (float(low), float(high))
        self.pixel_noise_std = pixel_noise_std
        self.patch_noise_std = patch_noise_std
        self.patch_size = patch_size

    def patch_grid(self, size: Sequence[int]) -> Tuple[int, int]:
        """Patch-noise grid of a full-resolution image of ``size``."""
        h, w = size
        return (max(1, h // self.patch_size), max(1, w // self.patch_size))

    def __call__(self,
                 num: int,
                 size: Sequence[int],
                 device=None,
                 generator: Optional[torch.Generator] = None,
                 out_size: Optional[Sequence[int]] = None) -> Tensor:
        """Maps (num, 1, *out_size) for images of full-resolution ``size``
        (``out_size`` defaults to ``size``)."""
        out_h, out_w = size if out_size is None else out_size
        low, high = self.exposure_range
        options = dict(device=device, generator=generator)
        level = low + (high - low) * torch.rand(num, 1, 1, 1, **options)
        pixel_noise = torch.randn(num, 1, out_h, out_w, **options)
        patch_noise = torch.randn(num, 1, *self.patch_grid(size), **options)
        patch_noise = F.interpolate(
            patch_noise, size=(out_h, out_w), mode='bilinear',
            align_corners=False)
        exposure = (level + self.pixel_noise_std * pixel_noise +
                    self.patch_noise_std * patch_noise)
        return exposure.clamp_(min=0)
