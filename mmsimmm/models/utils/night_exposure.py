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

    Beyond the paper (off by default): ``light_pools`` adds up to
    ``max_num`` Gaussian pools of light per image, ``peak * exp(-d^2 / 2
    r^2)`` with the radius ``r`` a fraction of the image width: night scenes
    are not evenly dark but lit in places by artificial lights (street
    lamps, headlights, windows), which a uniform E' cannot ask D for.

    Args:
        exposure_range: range of the per-sample level ((0, 0.2)).
        pixel_noise_std / patch_noise_std: sigma of each noise (0.025).
        patch_size: side of a noise patch in full-resolution pixels: 64
            segmentation, 16 classification and action, 32 place
            recognition.
        light_pools: ``dict(max_num=4, radius_range=(0.03, 0.12),
            peak_range=(0.1, 0.5))``: the number of pools per image is
            uniform in ``0..max_num``; radius (fraction of the width) and
            peak (added exposure) uniform in their ranges. ``None``: off.
    """

    def __init__(self,
                 exposure_range: Tuple[float, float] = (0.0, 0.2),
                 pixel_noise_std: float = 0.025,
                 patch_noise_std: float = 0.025,
                 patch_size: int = 64,
                 light_pools: Optional[dict] = None):
        self.light_pools = self._check_pools(light_pools)
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

    @staticmethod
    def _check_pools(cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        pools = dict(max_num=4, radius_range=(0.03, 0.12),
                     peak_range=(0.1, 0.5))
        unknown = set(cfg) - set(pools)
        if unknown:
            raise KeyError('NightExposureSampler.light_pools: unknown key '
                           f"'{sorted(unknown)[0]}' (known: "
                           f"{', '.join(pools)})")
        pools.update(cfg)
        if int(pools['max_num']) < 0:
            raise ValueError('NightExposureSampler.light_pools: max_num '
                             f"must be >= 0, got {pools['max_num']}")
        for key in ('radius_range', 'peak_range'):
            low, high = pools[key]
            if not 0 <= low <= high:
                raise ValueError('NightExposureSampler.light_pools: '
                                 f'{key} must be 0 <= low <= high, got '
                                 f'{pools[key]}')
        return pools

    def pools_map(self, num: int, out_size: Sequence[int], device=None,
                  generator: Optional[torch.Generator] = None) -> Tensor:
        """The added exposure of the light pools, (num, 1, *out_size)."""
        out_h, out_w = out_size
        cfg = self.light_pools
        most = int(cfg['max_num'])
        options = dict(device=device, generator=generator)
        # every image draws max_num pools and keeps the first k of them
        count = torch.randint(0, most + 1, (num, 1), **options)
        keep = (torch.arange(most, device=device) < count).float()
        centre_y = torch.rand(num, most, **options) * out_h
        centre_x = torch.rand(num, most, **options) * out_w
        r_low, r_high = cfg['radius_range']
        radius = (r_low + (r_high - r_low) *
                  torch.rand(num, most, **options)) * out_w
        p_low, p_high = cfg['peak_range']
        peak = (p_low + (p_high - p_low) *
                torch.rand(num, most, **options)) * keep
        ys = torch.arange(out_h, device=device, dtype=torch.float32) + 0.5
        xs = torch.arange(out_w, device=device, dtype=torch.float32) + 0.5
        dist2 = ((ys.view(1, 1, -1, 1) - centre_y[..., None, None])**2 +
                 (xs.view(1, 1, 1, -1) - centre_x[..., None, None])**2)
        pools = peak[..., None, None] * torch.exp(
            -dist2 / (2 * radius[..., None, None].clamp(min=1e-6)**2))
        return pools.sum(dim=1, keepdim=True)

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
        if self.light_pools is not None and self.light_pools['max_num']:
            exposure = exposure + self.pools_map(num, (out_h, out_w),
                                                 device, generator)
        return exposure.clamp_(min=0)
