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

    The rounds run in place on preallocated buffers, with the same operations
    in the same order as the formula above, so the output is bit-identical to
    the naive out-of-place chain but allocates (and page-faults) 2 rather
    than ~4 * ``rounds`` full-resolution tensors. With autograd (stage 1) a
    fused backward replaces ~40 recorded ops and keeps ``rounds`` + 1 maps
    instead of ~2 * ``rounds``; broadcast curves take the plain autograd path.
    """
    if _needs_grad(img, alpha, beta):
        if img.shape == alpha.shape == beta.shape and \
                img.dtype == alpha.dtype == beta.dtype:
            return _CurveFunction.apply(img, alpha, beta, rounds)
        return _apply_curve_autograd(img, alpha, beta, rounds)
    y = img * beta
    if not _can_update(y, alpha, beta):
        return _apply_curve_autograd(img, alpha, beta, rounds)
    tmp = torch.empty_like(y)
    for _ in range(rounds):
        _round(y, alpha, tmp, out=y)
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


def _apply_curve_autograd(img: Tensor, alpha: Tensor, beta: Tensor,
                          rounds: int) -> Tensor:
    y = img * beta
    for _ in range(rounds):
        y = y + alpha * (y * y - y)
    return y / beta


def _round(y: Tensor, alpha: Tensor, tmp: Tensor, out: Tensor) -> Tensor:
    """out = y + alpha * (y * y - y), op by op as written; ``tmp`` scratch."""
    torch.mul(y, y, out=tmp)
    tmp.sub_(y).mul_(alpha)
    return torch.add(y, tmp, out=out)


class _CurveFunction(torch.autograd.Function):
    """apply_curve with a hand-written backward (same-shape inputs).

    y_0 = I*B, y_{k+1} = y_k + A(y_k^2 - y_k), out = y_R / B:
    dL/dA = sum_k g_{k+1} (y_k^2 - y_k), g_k = g_{k+1} (1 + A(2 y_k - 1)),
    g_R = dL/dout / B, dL/dI = g_0 B, dL/dB = g_0 I - dL/dout * out / B.
    """

    @staticmethod
    def forward(ctx, img, alpha, beta, rounds):
        ys = img.new_empty((rounds + 1, ) + tuple(img.shape))
        torch.mul(img, beta, out=ys[0])
        tmp = torch.empty_like(img)
        for k in range(rounds):
            _round(ys[k], alpha, tmp, out=ys[k + 1])
        ctx.save_for_backward(img, alpha, beta, ys)
        return ys[rounds] / beta

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        img, alpha, beta, ys = ctx.saved_tensors
        need_img, need_alpha, need_beta = ctx.needs_input_grad[:3]
        g = grad_out / beta
        grad_alpha = torch.zeros_like(g) if need_alpha else None
        tmp = torch.empty_like(g)
        for k in reversed(range(ys.shape[0] - 1)):
            y = ys[k]
            if need_alpha:
                torch.mul(y, y, out=tmp)
                grad_alpha.add_(tmp.sub_(y).mul_(g))
            torch.mul(y, 2, out=tmp)
            g.mul_(tmp.sub_(1).mul_(alpha).add_(1))
        grad_img = g * beta if need_img else None
        grad_beta = None
        if need_beta:
            grad_beta = g.mul_(img).sub_(grad_out * ys[-1] / beta / beta)
        return grad_img, grad_alpha, grad_beta, None


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

    def forward_cat(self, a: Tensor, b: Tensor) -> Tensor:
        """``self(torch.cat([a, b], 1))`` without the concatenation.

        The depthwise conv is per channel and the pointwise conv is linear,
        so each half goes through its own slice of the weights and the two
        pointwise results are summed: the same function (up to the order of
        float additions) without writing and re-reading a 2C-channel map,
        ~25% of the darkener's body on CPU.
        """
        depthwise, pointwise = self[0], self[1]
        c = a.shape[1]
        conv = partial(F.conv2d, stride=depthwise.stride,
                       padding=depthwise.padding, dilation=depthwise.dilation)
        bias = depthwise.bias
        da = conv(a, depthwise.weight[:c], None if bias is None else bias[:c],
                  groups=c)
        db = conv(b, depthwise.weight[c:], None if bias is None else bias[c:],
                  groups=b.shape[1])
        out = F.conv2d(da, pointwise.weight[:, :c], pointwise.bias)
        # in place is autograd-safe: a conv's backward needs no output
        return out.add_(F.conv2d(db, pointwise.weight[:, c:]))


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
        curve: ``None`` for the paper's quadratic curve (A, B), or the config
            of a curve family replacing it (the paper's darkener ablations,
            :mod:`.curve_families`): the network then predicts that family's
            maps, and ``rounds`` / ``beta_floor`` are unused.
    """

    def __init__(self,
                 channels: int = 64,
                 rounds: int = 8,
                 scale_factor: int = 4,
                 beta_floor: float = 0.95,
                 channels_last: bool = True,
                 curve: Optional[dict] = None,
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
        self.curve = MODELS.build(curve) if curve is not None else None
        if self.curve is not None and not hasattr(self.curve, 'curve_maps'):
            raise TypeError(
                'CurveDarkener: curve must be a curve family (e.g. '
                f"mmsimmm.GammaCurve), got '{type(self.curve).__name__}'")
        num_maps = 6 if self.curve is None else self.curve.num_maps
        self.conv7 = DepthwiseSeparableConv(2 * c, num_maps)

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
        x5 = relu(self.conv5.forward_cat(x3, x4))
        x6 = relu(self.conv6.forward_cat(x2, x5))
        return self.conv7.forward_cat(x1, x6).contiguous()

    def estimation_size(self, size) -> Tuple[int, int]:
        """Resolution at which the curve maps of a ``size`` image are
        estimated (exposure maps given at this size are used as they are)."""
        h, w = size
        s = self.scale_factor
        return (max(1, round(h / s)), max(1, round(w / s)))

    def curve_params(self, img: Tensor,
                     exposure: Union[float, Tensor]) -> Tuple[Tensor, Tensor]:
        """Per-pixel curve parameters ``(alpha, beta)``, each (N, 3, H, W);
        with a curve family, its ``curve_maps`` (strength, B = 1)."""
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError('CurveDarkener expects RGB images (N, 3, H, W); '
                             f'got shape {tuple(img.shape)}')
        h, w = img.shape[-2:]
        s = self.scale_factor
        if s > 1:
            low_size = self.estimation_size((h, w))
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
        if self.curve is not None:
            return self.curve.curve_maps(curves)
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
            if self.curve is None:
                dark = apply_curve(img.to(dtype), alpha.to(dtype),
                                   beta.to(dtype), self.rounds)
            else:
                dark = self.curve(img.to(dtype), alpha.to(dtype))
        if return_curves:
            return dark, alpha, beta
        return dark
