"""The exposure-conditioned curve darkener D of Similarity Min-Max (stage 1)."""
from functools import partial
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmsimmm.registry import MODELS


def apply_curve(img: Tensor, alpha: Tensor, beta: Tensor,
                rounds: int = 8) -> Tensor:
    """Map ``img`` with the SMM curve: y = I*B, y <- y + A(y^2 - y) ``rounds``
    times, output y / B. ``alpha``/``beta`` broadcast against ``img``.

    Without autograd (stage 2, inference) the rounds run in place on two
    buffers: the same operations in the same order, so the result is
    bit-identical, without allocating (and page-faulting) 4 full-resolution
    temporaries per round.
    """
    y = img * beta
    if _needs_grad(img, alpha, beta) or not _can_update(y, alpha, beta):
        for _ in range(rounds):
            y = y + alpha * (y * y - y)
        return y / beta
    tmp = torch.empty_like(y)
    for _ in range(rounds):
        torch.mul(y, y, out=tmp)
        tmp.sub_(y).mul_(alpha)
        y.add_(tmp)
    return y.div_(beta)


def _needs_grad(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _can_update(y: Tensor, *others: Tensor) -> bool:
    """In-place ops on ``y`` give the out-of-place result (no broadcasting
    beyond ``y``'s shape, no type promotion)."""
    return all(
        t.dtype == y.dtype and t.device == y.device
        and torch.broadcast_shapes(t.shape, y.shape) == y.shape
        for t in others)


def exposure_as_map(exposure: Union[float, Tensor], img: Tensor) -> Tensor:
    """Exposure given per sample ``(N,)``, as a scalar or as a map
    ``(N, 1, H', W')`` -> map ``(N, 1, H, W)`` on ``img``'s device/dtype."""
    n, _, h, w = img.shape
    exposure = torch.as_tensor(exposure, dtype=img.dtype, device=img.device)
    if exposure.dim() <= 1:
        return exposure.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
    if exposure.dim() != 4 or exposure.shape[1] != 1:
        raise ValueError('exposure must be a scalar, (N,) or (N, 1, H, W); '
                         f'got shape {tuple(exposure.shape)}')
    if exposure.shape[-2:] != (h, w):
        exposure = F.interpolate(
            exposure, size=(h, w), mode='bilinear', align_corners=False)
    return exposure.expand(n, 1, h, w)


class DepthwiseSeparableConv(nn.Sequential):
    """Depthwise 3x3 + pointwise 1x1 (Zero-DCE++ ``CSDN_Tem``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, padding=1,
                      groups=in_channels),
            nn.Conv2d(in_channels, out_channels, 1))


@MODELS.register_module()
class CurveDarkener(BaseModule):
    """Exposure-conditioned curve estimator (about 41 K parameters).

    Input: RGB in [0, 1] plus one exposure channel. Eight depthwise-separable
    convolutions with U-Net-like skips predict per-pixel, per-channel curve
    parameters A = tanh(.) and B = 0.95 + 0.05 sigmoid(.), applied by
    :func:`apply_curve`.

    Args:
        channels: width of the body (64 in the paper).
        rounds: curve iterations (8).
        scale_factor: curve maps are estimated on the image downsampled by
            this factor and bilinearly upsampled; the mapping itself is
            applied at full resolution. 1 is the paper's setting; the curves
            are smooth by construction (loose TV loss), so estimating them at
            reduced resolution (as Zero-DCE++ does) changes little and costs
            1/scale_factor^2 of the body.
        beta_floor: lower bound of B (0.95).
        channels_last: run the body in channels-last memory format on CPU
            (faster depthwise convolutions; same values up to rounding).
    """

    def __init__(self,
                 channels: int = 64,
                 rounds: int = 8,
                 scale_factor: int = 4,
                 beta_floor: float = 0.95,
                 channels_last: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if scale_factor < 1 or int(scale_factor) != scale_factor:
            raise ValueError(
                f'scale_factor must be a positive integer, got {scale_factor}')
        self.rounds = rounds
        self.scale_factor = int(scale_factor)
        self.beta_floor = beta_floor
        self.channels_last = channels_last
        c = channels
        self.conv0 = DepthwiseSeparableConv(4, c)
        self.conv1 = DepthwiseSeparableConv(c, c)
        self.conv2 = DepthwiseSeparableConv(c, c)
        self.conv3 = DepthwiseSeparableConv(c, c)
        self.conv4 = DepthwiseSeparableConv(c, c)
        self.conv5 = DepthwiseSeparableConv(2 * c, c)
        self.conv6 = DepthwiseSeparableConv(2 * c, c)
        self.conv7 = DepthwiseSeparableConv(2 * c, 6)

    def _estimate(self, x: Tensor) -> Tensor:
        # Channels-last on CPU: oneDNN's depthwise 3x3 convolutions are
        # several times faster in NHWC (measured: benchmarks/cost.py);
        # the 6 curve maps come back contiguous (NCHW) and the values are
        # those of the NCHW body up to float rounding.
        if self.channels_last and x.device.type == 'cpu':
            x = x.contiguous(memory_format=torch.channels_last)
        # ReLU in place: a convolution's backward needs its input, not its
        # output, so this is autograd-safe and saves a buffer per layer.
        relu = partial(F.relu, inplace=True)
        x0 = relu(self.conv0(x))
        x1 = relu(self.conv1(x0))
        x2 = relu(self.conv2(x1))
        x3 = relu(self.conv3(x2))
        x4 = relu(self.conv4(x3))
        x5 = relu(self.conv5(torch.cat([x3, x4], 1)))
        x6 = relu(self.conv6(torch.cat([x2, x5], 1)))
        return self.conv7(torch.cat([x1, x6], 1)).contiguous()

    def curve_params(self, img: Tensor,
                     exposure: Union[float, Tensor]) -> Tuple[Tensor, Tensor]:
        """Per-pixel curve parameters ``(alpha, beta)``, each (N, 3, H, W)."""
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError('CurveDarkener expects RGB images (N, 3, H, W); '
                             f'got shape {tuple(img.shape)}')
        h, w = img.shape[-2:]
        s = self.scale_factor
        if s > 1:
            low_size = (max(1, round(h / s)), max(1, round(w / s)))
            small = F.interpolate(
                img, size=low_size, mode='bilinear', align_corners=False,
                antialias=True)
        else:
            small = img
        x = torch.cat([small, exposure_as_map(exposure, small)], 1)
        curves = self._estimate(x)
        if s > 1:
            curves = F.interpolate(
                curves, size=(h, w), mode='bilinear', align_corners=False)
        floor = self.beta_floor
        if _needs_grad(curves):
            alpha = torch.tanh(curves[:, :3])
            beta = floor + (1 - floor) * torch.sigmoid(curves[:, 3:])
        else:  # same ops, in place on the (full-resolution) curve maps
            alpha = curves[:, :3].tanh_()
            beta = curves[:, 3:].sigmoid_().mul_(1 - floor).add_(floor)
        return alpha, beta

    def forward(self,
                img: Tensor,
                exposure: Union[float, Tensor],
                return_curves: bool = False):
        """Darken ``img`` (RGB in [0, 1]) towards ``exposure``.

        Video clips are handled by flattening frames into the batch first.
        Returns the darkened image, or ``(dark, alpha, beta)`` when
        ``return_curves`` is set (the losses of stage 1 need the curves).
        """
        alpha, beta = self.curve_params(img, exposure)
        # The 8 quadratic rounds are sensitive to fp16 rounding: run in fp32.
        dtype = torch.promote_types(img.dtype, torch.float32)
        with torch.autocast(device_type=img.device.type, enabled=False):
            dark = apply_curve(
                img.to(dtype), alpha.to(dtype), beta.to(dtype), self.rounds)
        if return_curves:
            return dark, alpha, beta
        return dark
