"""The stage-2 augmentations of the reference's segmentation recipe.

Each works on one image or on the views of :class:`PairedPhotometricViews`
and says what the views share: the zoom (geometry) and the cutout region
are shared, the blur strength and the colour jitter are drawn per view.
Images are HxWx3 uint8 arrays as mmcv loads them; randomness is numpy's
global generator, like mmcv's transforms (seeded per dataloader worker).
"""
from typing import Sequence, Tuple

import cv2
import numpy as np
import torch
import torchvision.transforms.functional as TF
from mmcv.transforms import BaseTransform

from mmsimmm.registry import TRANSFORMS
from .multi_view import image_views, store_views

CV2_INTERPOLATION = dict(
    nearest=cv2.INTER_NEAREST,
    bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA,
    lanczos=cv2.INTER_LANCZOS4)


def _check_range(name: str, key: str, value, low=None, high=None):
    value = tuple(float(v) for v in value)
    if len(value) != 2 or value[0] > value[1] or (
            low is not None and value[0] < low) or (high is not None
                                                    and value[1] > high):
        bounds = f' within [{low}, {high}]' if low is not None else ''
        raise ValueError(f'{name}: {key} must be an increasing pair'
                         f'{bounds}, got {value}')
    return value


def _check_uint8_rgb(name: str, img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError(f'{name}: expects HxWx3 uint8 images, got '
                        f'{img.dtype} {img.shape}')


@TRANSFORMS.register_module()
class RandomCenterZoom(BaseTransform):
    """Zoom about the image centre by s ~ U(ratio_range), keeping the image
    size (the reference's ``TF.affine(img, 0, [0, 0], s, [0, 0])``): s > 1
    enlarges the centre, s < 1 shrinks the image inside a border of
    ``img_fill`` whose labels are ``seg_fill`` (ignored by the loss). One
    draw per sample, applied to every view and to every seg map.

    Args:
        ratio_range: range of s (the reference: 0.7-1.3).
        interpolation: of the image ('nearest' in the reference, torchvision's
            affine default); seg maps are always nearest.
        img_fill / seg_fill: values of the border.
    """

    def __init__(self,
                 ratio_range: Tuple[float, float] = (0.7, 1.3),
                 interpolation: str = 'bilinear',
                 img_fill: int = 0,
                 seg_fill: int = 255):
        self.ratio_range = _check_range('RandomCenterZoom', 'ratio_range',
                                        ratio_range, low=1e-3)
        if interpolation not in CV2_INTERPOLATION:
            raise ValueError(f"RandomCenterZoom: interpolation "
                             f"'{interpolation}' is not one of "
                             f'{sorted(CV2_INTERPOLATION)}')
        self.interpolation = interpolation
        self.img_fill = img_fill
        self.seg_fill = seg_fill

    @staticmethod
    def zoom_matrix(ratio: float, height: int, width: int) -> np.ndarray:
        """Source -> destination map of a zoom by ``ratio`` about the centre
        (pixel centres at integer coordinates, as cv2)."""
        cx, cy = (width - 1) * 0.5, (height - 1) * 0.5
        return np.float32([[ratio, 0, (1 - ratio) * cx],
                           [0, ratio, (1 - ratio) * cy]])

    def transform(self, results: dict) -> dict:
        ratio = float(np.random.uniform(*self.ratio_range))
        views = image_views(results, 'RandomCenterZoom')
        height, width = views[0].shape[:2]
        matrix = self.zoom_matrix(ratio, height, width)

        def warp(array, flags, fill):
            return cv2.warpAffine(
                array, matrix, (width, height), flags=flags,
                borderMode=cv2.BORDER_CONSTANT, borderValue=fill)

        channels = views[0].shape[2] if views[0].ndim == 3 else 1
        img_fill = (self.img_fill, ) * channels
        store_views(results, [
            warp(v, CV2_INTERPOLATION[self.interpolation], img_fill)
            for v in views
        ])
        for key in results.get('seg_fields', []):
            results[key] = warp(results[key], cv2.INTER_NEAREST,
                                self.seg_fill)
        results['zoom_ratio'] = ratio
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(ratio_range={self.ratio_range}, '
                f"interpolation='{self.interpolation}')")


@TRANSFORMS.register_module()
class PerViewGaussianBlur(BaseTransform):
    """Gaussian blur with probability ``prob``: one draw decides for all
    views (as the reference), each view gets its own sigma ~ U(sigma_range).

    Args:
        prob: probability of blurring the sample.
        sigma_range: range of the standard deviation in pixels (the
            reference: PIL ``GaussianBlur(radius=U(0.1, 2.0))``).
    """

    def __init__(self, prob: float = 0.5,
                 sigma_range: Tuple[float, float] = (0.1, 2.0)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'PerViewGaussianBlur: prob must be in [0, 1], '
                             f'got {prob}')
        self.prob = prob
        self.sigma_range = _check_range('PerViewGaussianBlur', 'sigma_range',
                                        sigma_range, low=1e-6)

    def transform(self, results: dict) -> dict:
        views = image_views(results, 'PerViewGaussianBlur')
        if np.random.rand() >= self.prob:
            return results
        sigmas = np.random.uniform(*self.sigma_range, size=len(views))
        store_views(results, [
            cv2.GaussianBlur(v, (0, 0), sigmaX=float(s), sigmaY=float(s))
            for v, s in zip(views, sigmas)
        ])
        results['blur_sigmas'] = sigmas.tolist()
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'sigma_range={self.sigma_range})')


@TRANSFORMS.register_module()
class PairedCutout(BaseTransform):
    """Random erasing of one rectangle, the same in every view (region and
    fill), with the labels there set to ``seg_fill`` (the reference's
    ``cutout_multi``).

    The rectangle covers a fraction ~ U(area_range) of the image with aspect
    (h / w) ~ U(aspect_range), redrawn until it fits (at most
    ``max_attempts`` times, else the sample is left as is); the fill is
    uniform noise in ``fill_range`` per pixel and channel.
    """

    def __init__(self,
                 prob: float = 0.5,
                 area_range: Tuple[float, float] = (0.02, 0.4),
                 aspect_range: Tuple[float, float] = (0.3, 1 / 0.3),
                 fill_range: Tuple[float, float] = (0, 255),
                 seg_fill: int = 255,
                 max_attempts: int = 100):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'PairedCutout: prob must be in [0, 1], got '
                             f'{prob}')
        self.prob = prob
        self.area_range = _check_range('PairedCutout', 'area_range',
                                       area_range, 0.0, 1.0)
        self.aspect_range = _check_range('PairedCutout', 'aspect_range',
                                         aspect_range, low=1e-6)
        self.fill_range = _check_range('PairedCutout', 'fill_range',
                                       fill_range, 0.0, 255.0)
        self.seg_fill = seg_fill
        self.max_attempts = max_attempts

    def _region(self, height: int, width: int):
        for _ in range(self.max_attempts):
            area = np.random.uniform(*self.area_range) * height * width
            aspect = np.random.uniform(*self.aspect_range)
            erase_h = int(np.sqrt(area * aspect))
            erase_w = int(np.sqrt(area / aspect))
            if 0 < erase_h < height and 0 < erase_w < width:
                top = np.random.randint(0, height - erase_h)
                left = np.random.randint(0, width - erase_w)
                return top, left, erase_h, erase_w
        return None

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        views = image_views(results, 'PairedCutout')
        height, width = views[0].shape[:2]
        region = self._region(height, width)
        if region is None:
            return results
        top, left, erase_h, erase_w = region
        fill = np.random.uniform(*self.fill_range,
                                 size=(erase_h, erase_w) + views[0].shape[2:])
        erased = []
        for view in views:
            view = view.copy()
            view[top:top + erase_h, left:left + erase_w] = fill.astype(
                view.dtype)
            erased.append(view)
        store_views(results, erased)
        for key in results.get('seg_fields', []):
            seg = results[key].copy()
            seg[top:top + erase_h, left:left + erase_w] = self.seg_fill
            results[key] = seg
        results['cutout_region'] = (top, left, erase_h, erase_w)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'area_range={self.area_range}, '
                f'aspect_range={self.aspect_range})')


@TRANSFORMS.register_module()
class PerViewColorJitter(BaseTransform):
    """Colour jitter with fresh draws for every view: brightness, contrast
    and saturation factors ~ U(1 - x, 1 + x), hue shift ~ U(-hue, hue),
    applied in this fixed order with torchvision's functional ops (the
    reference's order; ``torchvision.ColorJitter`` shuffles it).

    Args:
        brightness / contrast / saturation: jitter strengths (>= 0).
        hue: jitter strength in [0, 0.5].
        channel_order: of the images in ``results`` ('bgr' as mmcv loads).
    """

    def __init__(self,
                 brightness: float = 0.3,
                 contrast: float = 0.3,
                 saturation: float = 0.3,
                 hue: float = 0.3,
                 channel_order: str = 'bgr'):
        for key, value in (('brightness', brightness),
                           ('contrast', contrast),
                           ('saturation', saturation)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'PerViewColorJitter: {key} must be in '
                                 f'[0, 1], got {value}')
        if not 0.0 <= hue <= 0.5:
            raise ValueError(f'PerViewColorJitter: hue must be in [0, 0.5], '
                             f'got {hue}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError("PerViewColorJitter: channel_order must be 'bgr'"
                             f" or 'rgb', got '{channel_order}'")
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue = saturation, hue
        self.channel_order = channel_order

    def draw_factors(self) -> Sequence[float]:
        """(brightness, contrast, saturation, hue) for one view."""
        b, c, s, h = self.brightness, self.contrast, self.saturation, self.hue
        return (np.random.uniform(1 - b, 1 + b),
                np.random.uniform(1 - c, 1 + c),
                np.random.uniform(1 - s, 1 + s), np.random.uniform(-h, h))

    def jitter(self, img: np.ndarray, factors: Sequence[float]) -> np.ndarray:
        _check_uint8_rgb('PerViewColorJitter', img)
        bgr = self.channel_order == 'bgr'
        rgb = img[..., ::-1] if bgr else img
        tensor = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
        brightness, contrast, saturation, hue = factors
        tensor = TF.adjust_brightness(tensor, brightness)
        tensor = TF.adjust_contrast(tensor, contrast)
        tensor = TF.adjust_saturation(tensor, saturation)
        tensor = TF.adjust_hue(tensor, hue)
        out = tensor.permute(1, 2, 0).numpy()  # host tensor (from_numpy)
        return np.ascontiguousarray(out[..., ::-1] if bgr else out)

    def transform(self, results: dict) -> dict:
        views = image_views(results, 'PerViewColorJitter')
        factors = [self.draw_factors() for _ in views]
        store_views(results,
                    [self.jitter(v, f) for v, f in zip(views, factors)])
        results['jitter_factors'] = factors
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue})')
