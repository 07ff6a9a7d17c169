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

    Args:
        exposure_range: range of the per-sample level ((0, 0.2)).
        pixel_noise_std / patch_noise_std: sigma of each noise (0.025).
        patch_size: side of a noise patch in pixels: 64 segmentation,
            16 classification and action, 32 place recognition.
    """

    def __init__(self,
                 exposure_range: Tuple[float, float] = (0.0, 0.2),
                 pixel_noise_std: float = 0.025,
                 patch_noise_std: float = 0.025,
                 patch_size: int = 64):
        self.exposure_range = tuple(exposure_range)
        self.pixel_noise_std = pixel_noise_std
        self.patch_noise_std = patch_noise_std
        self.patch_size = patch_size

    def __call__(self,
                 num: int,
                 size: Sequence[int],
                 device=None,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        h, w = size
        low, high = self.exposure_range
        options = dict(device=device, generator=generator)
        level = low + (high - low) * torch.rand(num, 1, 1, 1, **options)
        pixel_noise = torch.randn(num, 1, h, w, **options)
        grid = (max(1, -(-h // self.patch_size)),
                max(1, -(-w // self.patch_size)))
        patch_noise = torch.randn(num, 1, *grid, **options)
        patch_noise = F.interpolate(
            patch_noise,
            scale_factor=self.patch_size,
            mode='nearest')[..., :h, :w]
        exposure = (level + self.pixel_noise_std * pixel_noise +
                    self.patch_noise_std * patch_noise)
        return exposure.clamp_(min=0)
