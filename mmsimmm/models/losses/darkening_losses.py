"""Realism regularisers R_D of the darkener (stage 1), weights of the reference."""
from typing import Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmsimmm.registry import MODELS
from ..darkeners.curve_darkener import exposure_as_map


@MODELS.register_module()
class LooseTVLoss(nn.Module):
    """Loose total variation on the curve map A: neighbour differences below
    ``margin`` are penalised quadratically, differences above ``2 * margin``
    are free (edges may change the curve), i.e. per difference d
    ``clamp(margin - | |d| - margin |, 0, 1)^2``.

    The value is ``2 * C * (mean t_h + mean t_w)``, which equals the
    reference's ``2 / N * (sum t_h / ((H-1)W) + sum t_w / (H(W-1)))``.
    """

    def __init__(self, margin: float = 0.02, loss_weight: float = 1600.0):
        super().__init__()
        self.margin = margin
        self.loss_weight = loss_weight

    def _penalty(self, diff: Tensor) -> Tensor:
        m = self.margin
        return torch.clamp(m - (diff.abs() - m).abs(), 0, 1).pow(2)

    def forward(self, alpha: Tensor) -> Tensor:
        channels = alpha.shape[1]
        t_h = self._penalty(alpha[:, :, 1:, :] - alpha[:, :, :-1, :])
        t_w = self._penalty(alpha[:, :, :, 1:] - alpha[:, :, :, :-1])
        return self.loss_weight * 2 * channels * (t_h.mean() + t_w.mean())


@MODELS.register_module()
class ColorConsistencyLoss(nn.Module):
    """Zero-DCE colour constancy: per image sqrt(sum over channel pairs of
    (m_p - m_q)^4) of the channel means; mean over the batch."""

    # sqrt has an infinite slope at 0 (a grey image); the clamp keeps its
    # gradient finite and changes the value by at most 1e-6.
    eps = 1e-12

    def __init__(self, loss_weight: float = 25.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, img: Tensor) -> Tensor:
        mean_r, mean_g, mean_b = img.mean(dim=(2, 3)).unbind(1)
        distance = ((mean_r - mean_g).pow(4) + (mean_r - mean_b).pow(4) +
                    (mean_b - mean_g).pow(4))
        return self.loss_weight * distance.clamp(min=self.eps).sqrt().mean()


@MODELS.register_module()
class ExposureLoss(nn.Module):
    """Exposure alignment: mean over patches of (mean intensity of the patch -
    target exposure)^2. The target is given per sample ``(N,)`` or as a map
    ``(N, 1, H, W)`` averaged over the same patches."""

    def __init__(self, patch_size: int = 1, loss_weight: float = 10.0):
        super().__init__()
        self.patch_size = patch_size
        self.loss_weight = loss_weight

    def forward(self, img: Tensor, exposure: Union[float, Tensor]) -> Tensor:
        intensity = img.mean(dim=1, keepdim=True)
        target = exposure_as_map(exposure, intensity)
        if self.patch_size > 1:
            intensity = F.avg_pool2d(intensity, self.patch_size)
            target = F.avg_pool2d(target, self.patch_size)
        return self.loss_weight * (intensity - target).pow(2).mean()


@MODELS.register_module()
class FlexibilityLoss(nn.Module):
    """mean(1 - B): keeps the curve's scale B near 1 unless darkening needs it."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, beta: Tensor) -> Tensor:
        return self.loss_weight * (1 - beta).mean()
