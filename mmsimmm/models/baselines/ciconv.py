# Copyright (c) OpenMMLab. All rights reserved.
"""CIConv (Lengyel et al., "Zero-Shot Day-Night Domain Adaptation with a
Physics Prior", ICCV 2021): a colour-invariant first layer, the best prior
zero-shot method of SMM's paper tables. Follows the authors' ``CIConv2d``
(W invariant) and their clamp of the learnable scale."""
import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmsimmm.registry import MODELS

__all__ = ['CIConv2d', 'CIConvBackbone', 'gaussian_derivative_filters']

# RGB -> (E, El, Ell) of the Gaussian colour model (Geusebroek et al.), as
# in the authors' code.
GAUSSIAN_COLOUR_MODEL = ((0.06, 0.63, 0.27), (0.30, 0.04, -0.35),
                         (0.34, -0.60, 0.17))
EPS = 1e-5  # the authors' constant (denominators and log)
SCALE_LIMIT = 2.5  # |log2 sigma| is clamped to this, as in the authors' code


def gaussian_derivative_filters(log2_sigma: torch.Tensor,
                                truncate: float = 3.0) -> torch.Tensor:
    """``(3, 1, K, K)`` filters: Gaussian, d/dx and d/dy of the Gaussian at
    ``sigma = 2 ** log2_sigma``, differentiable in ``log2_sigma``.

    The support is ``ceil(truncate * sigma + 0.5)`` pixels each side. As in
    the authors' code the Gaussian is normalised to sum 1 and each
    derivative to an absolute sum of 1; "x" is the first spatial axis
    (rows) as in their code, "y" the second (W sums both).
    """
    sigma = torch.pow(2.0, log2_sigma.reshape(()))
    half = int(math.ceil(truncate * float(sigma.detach()) + 0.5))
    coords = torch.arange(-half, half + 1, dtype=sigma.dtype,
                          device=sigma.device)
    x, y = torch.meshgrid(coords, coords, indexing='ij')
    gauss = torch.exp(-(x / sigma)**2 / 2) * torch.exp(-(y / sigma)**2 / 2)
    d_x = -x / (sigma**3 * 2 * math.pi) * gauss
    d_y = -y / (sigma**3 * 2 * math.pi) * gauss
    filters = torch.stack([
        gauss / gauss.sum(), d_x / d_x.abs().sum(), d_y / d_y.abs().sum()
    ])
    return filters[:, None]


@MODELS.register_module()
class CIConv2d(nn.Module):
    """W colour invariant with a learnable Gaussian scale: RGB ``(N, 3, H,
    W)`` -> ``(N, 1, H, W)``.

    1. ``(E, El, Ell) = M @ rgb`` per pixel (Gaussian colour model matrix);
    2. each of E, El, Ell convolved with a Gaussian and its x / y
       derivatives at ``sigma = 2 ** scale`` (``scale`` learnable, clamped
       to ``[-2.5, 2.5]``);
    3. ``W = sum over q in {x, y} of (E_q / E)^2 + (El_q / E)^2 +
       (Ell_q / E)^2`` (each derivative normalised by the smoothed E);
    4. ``instance_norm(log(W + eps))``.

    A per-image gain ``rgb -> k * rgb`` scales E and all derivatives
    alike, so W (and the output) does not change, up to ``eps``. The
    paper writes the invariant as ``sqrt(W)``; the code (followed here)
    omits the root, which the instance norm of the log undoes anyway
    (``log W = 2 log sqrt(W)``, the factor 2 is normalised away).

    The input must be linear-ish RGB with black at 0 (e.g. ``[0, 1]``),
    NOT mean-subtracted: give the task model a data preprocessor with
    ``mean=[0, 0, 0]``, ``std=[255, 255, 255]``, ``bgr_to_rgb=True``.

    Args:
        scale: Initial ``log2 sigma`` of the Gaussian derivatives.
        truncate: Filter half-size in sigmas (the authors' ``k=3``).
    """

    def __init__(self, scale: float = 0.0, truncate: float = 3.0):
        super().__init__()
        if not -SCALE_LIMIT <= scale <= SCALE_LIMIT:
            raise ValueError(f'CIConv2d: scale={scale!r} must be within '
                             f'[-{SCALE_LIMIT}, {SCALE_LIMIT}]')
        self.scale = nn.Parameter(torch.tensor([float(scale)]))
        self.truncate = truncate
        self.register_buffer(
            'colour_model', torch.tensor(GAUSSIAN_COLOUR_MODEL),
            persistent=False)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.dim() != 4 or rgb.shape[1] != 3:
            raise ValueError('CIConv2d: expected RGB input of shape (N, 3, '
                             f'H, W), got {tuple(rgb.shape)}')
        # keep sigma in a sane range (the authors clamp the data in place)
        with torch.no_grad():
            self.scale.clamp_(-SCALE_LIMIT, SCALE_LIMIT)
        colour = torch.einsum('oc,nchw->nohw',
                              self.colour_model.to(rgb.dtype), rgb)
        filters = gaussian_derivative_filters(self.scale, self.truncate)
        filters = filters.to(rgb.dtype)
        n, _, h, w = colour.shape
        # each of E, El, Ell through (smooth, d/dx, d/dy): 9 maps
        responses = F.conv2d(
            colour.reshape(n * 3, 1, h, w),
            filters,
            padding=filters.shape[-1] // 2).reshape(n, 3, 3, h, w)
        smooth_e = responses[:, 0, 0]
        derivatives = responses[:, :, 1:]  # (n, E/El/Ell, x/y, h, w)
        invariant = (derivatives / (smooth_e[:, None, None] + EPS))**2
        invariant = invariant.sum(dim=(1, 2))[:, None]
        return F.instance_norm(torch.log(invariant + EPS))

    def extra_repr(self) -> str:
        return f'scale={float(self.scale):.3f}, truncate={self.truncate}'


@MODELS.register_module()
class CIConvBackbone(BaseModule):
    """A backbone behind a CIConv W-invariant layer: ``backbone(ciconv(x))``.

    The wrapped backbone gets the 1-channel invariant: its ``in_channels``
    defaults to 1 (e.g. mmseg ``ResNetV1c`` with a 1-channel stem). If the
    config sets ``in_channels=c``, the invariant is repeated ``c`` times
    (to reuse a 3-channel stem). The first layer changes, so a model with
    it is trained from scratch (or from its own day run), not fine-tuned
    from a plain RGB checkpoint. Checkpoint keys: ``ciconv.scale`` and
    ``backbone.<wrapped keys>``.

    Args:
        backbone: Config of the wrapped backbone (built in the current
            default scope, e.g. ``dict(type='ResNetV1c', ...)`` in mmseg).
        ciconv: Keyword arguments of ``CIConv2d`` (``scale``,
            ``truncate``).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: Dict,
                 ciconv: Dict = dict(scale=0.0),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(backbone, dict) or 'type' not in backbone:
            raise TypeError('CIConvBackbone: backbone must be a config dict '
                            f'with a type, got {backbone!r}')
        backbone = dict(backbone)
        self.repeats = int(backbone.setdefault('in_channels', 1))
        if self.repeats < 1:
            raise ValueError('CIConvBackbone: backbone in_channels='
                             f'{self.repeats} must be >= 1')
        self.ciconv = CIConv2d(**ciconv)
        self.backbone = MODELS.build(backbone)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        invariant = self.ciconv(x)
        if self.repeats > 1:
            invariant = invariant.expand(-1, self.repeats, -1, -1)
        return self.backbone(invariant)
