"""Darkened views through a trained SMM model and picture grids of them
(used by ``tools/darken.py`` and :class:`DarkenVisualizationHook`)."""
import math
import os
import os.path as osp
from contextlib import contextmanager
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

VIEWS = ('stage2', 'curve')
MIN_GRID_WIDTH = 320  # pixels of a (day | dark) row; captions need ~300


class ConstantExposure:
    """An exposure 'sampler' with the call signature of
    ``NightExposureSampler`` that gives the same level everywhere, so a fixed
    exposure goes through ``SimMinMax.darken_view`` unchanged."""

    def __init__(self, value: float):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f'exposure must be in [0, 1], got {value}')
        self.value = float(value)

    def __call__(self, num, size, device=None, generator=None,
                 out_size=None) -> Tensor:
        height, width = size if out_size is None else out_size
        return torch.full((num, 1, height, width), self.value, device=device)


class RecordingSampler:
    """Wraps an exposure sampler and keeps the last maps it gave (the
    requested exposure of a view is the mean of its map)."""

    def __init__(self, sampler):
        self.sampler = sampler
        self.last: Optional[Tensor] = None

    def __call__(self, *args, **kwargs) -> Tensor:
        self.last = self.sampler(*args, **kwargs)
        return self.last


@contextmanager
def swapped_attributes(obj, **values):
    """Set attributes of ``obj`` inside the block, restore them after."""
    old = {name: getattr(obj, name) for name in values}
    for name, value in values.items():
        setattr(obj, name, value)
    try:
        yield obj
    finally:
        for name, value in old.items():
            setattr(obj, name, value)


class ReplayedExposure:
    """An exposure 'sampler' that gives a map drawn before (the same E' for
    every frame of a video)."""

    def __init__(self, exposure_map: Tensor):
        self.exposure_map = exposure_map

    def __call__(self, num, size, device=None, generator=None,
                 out_size=None) -> Tensor:
        return self.exposure_map.to(device).expand(num, -1, -1, -1)


@torch.no_grad()
def darken_images(smm_model,
                  day: Tensor,
                  exposure: Union[float, Tensor, None] = None,
                  generator: Optional[torch.Generator] = None,
                  view: str = 'stage2') -> Tuple[Tensor, Tensor]:
    """Darken RGB images in [0, 1] ``(N, 3, H, W)`` with the model's D.

    Args:
        smm_model: a ``SimMinMax`` (its ``darken_view``, ``night_exposure``,
            ``dark_noise`` and ``quantize_dark`` are used).
        exposure: a fixed exposure level; an exposure map returned by an
            earlier call (replayed); or ``None`` for new stage-2 maps E' of
            the model's ``night_exposure`` sampler.
        view: ``'stage2'``: the view F trains on in stage 2
            (``SimMinMax.darken_view``: D, then the configured sensor noise
            and 8-bit quantisation); ``'curve'``: D's output alone.

    Returns:
        ``(dark, exposure_map)``: the darkened images and the exposure maps
        ``(N, 1, h, w)`` D was asked for (at the resolution it reads them).
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got '{view}'")
    if exposure is None:
        sampler = smm_model.night_exposure
    elif isinstance(exposure, Tensor):
        sampler = ReplayedExposure(exposure)
    else:
        sampler = ConstantExposure(exposure)
    recorder = RecordingSampler(sampler)
    extras = {} if view == 'stage2' else dict(dark_noise=None,
                                               quantize_dark=False)
    with swapped_attributes(smm_model, night_exposure=recorder, **extras):
        dark = smm_model.darken_view(day, generator)
    return dark, recorder.last


def image_means(images: Tensor) -> Tensor:
    """Per-image mean over channels and pixels of ``(N, C, H, W)``."""
    return images.flatten(1).mean(1)


def to_uint8_rgb(image: Tensor) -> np.ndarray:
    """(3, H, W) RGB in [0, 1] (any device) -> (H, W, 3) uint8 array."""
    array = image.detach().float().clamp(0, 1).mul(255).round()
    return array.byte().permute(1, 2, 0).cpu().numpy()


def pair_grid(day: Tensor,
              dark: Tensor,
              captions: Sequence[str],
              titles: Sequence[str] = ('day', 'darkened')) -> np.ndarray:
    """Rows of (day | dark) RGB images in [0, 1], each under a caption
    band (e.g. requested exposure and achieved mean); a title band on top.
    Pairs narrower than ``MIN_GRID_WIDTH`` are enlarged by an integer
    factor. Returns an (H, W, 3) uint8 RGB array."""
    if not len(day) == len(dark) == len(captions):
        raise ValueError(f'pair_grid: {len(day)} day, {len(dark)} dark '
                         f'images and {len(captions)} captions')
    # small images are enlarged (nearest) so that a caption fits a row
    factor = max(1, math.ceil(MIN_GRID_WIDTH / (2 * day.shape[-1])))
    if factor > 1:
        day = F.interpolate(day, scale_factor=factor, mode='nearest')
        dark = F.interpolate(dark, scale_factor=factor, mode='nearest')
    rows = []
    width = day.shape[-1] * 2
    scale = 0.4
    for day_img, dark_img, caption in zip(day, dark, captions):
        band = np.full((16, width, 3), 255, np.uint8)
        cv2.putText(band, caption, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
        pair = np.concatenate(
            [to_uint8_rgb(day_img), to_uint8_rgb(dark_img)], 1)
        rows.extend([band, pair])
    header = np.full((16, width, 3), 255, np.uint8)
    for col, title in enumerate(titles):
        cv2.putText(header, title, (col * width // 2 + 3, 12),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return np.concatenate([header] + rows, 0)


def exposure_caption(requested: float, dark_mean: float,
                     day_mean: Optional[float] = None) -> str:
    """'E 0.050 -> mean 0.145 (x2.9)': the gap between what D was asked
    for and what it gave, at a glance."""
    ratio = dark_mean / requested if requested > 1e-6 else float('inf')
    text = f'E {requested:.3f} -> mean {dark_mean:.3f} (x{ratio:.1f})'
    if day_mean is not None:
        text += f' day {day_mean:.2f}'
    return text


IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff',
                  '.webp')


def list_images(folder: str) -> List[str]:
    """Image files under ``folder`` (recursive), as sorted relative
    paths."""
    found = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.lower().endswith(IMAGE_SUFFIXES):
                found.append(osp.relpath(osp.join(root, name), folder))
    return sorted(found)


def read_rgb(path: str) -> Tensor:
    """An image file as a (3, H, W) float RGB tensor in [0, 1]; one-line
    error naming the file if it cannot be read."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'{path}: not a readable image')
    return bgr_to_tensor(bgr)


def bgr_to_tensor(bgr: np.ndarray) -> Tensor:
    """(H, W, 3) uint8 BGR array -> (3, H, W) RGB float tensor in [0, 1]."""
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255)
