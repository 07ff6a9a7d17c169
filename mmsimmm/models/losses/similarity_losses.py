"""Feature-similarity terms of both stages."""
from typing import Sequence, Union

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmsimmm.registry import MODELS

Features = Union[Tensor, Sequence[Tensor]]


def _as_list(features: Features):
    return [features] if isinstance(features, Tensor) else list(features)


def feature_similarity(features: Features,
                       other: Features,
                       eps: float = 1e-8) -> Tensor:
    """Mean over locations of the channel cosine similarity, averaged over
    the list of maps (or pooled vectors)."""
    features, other = _as_list(features), _as_list(other)
    if len(features) != len(other):
        raise ValueError(f'got {len(features)} and {len(other)} feature '
                         'maps; both views must tap the same layers')
    per_map = [
        F.cosine_similarity(a, b, dim=1, eps=eps).mean()
        for a, b in zip(features, other)
    ]
    return sum(per_map) / len(per_map)


@MODELS.register_module()
class FeatureSimilarityLoss(nn.Module):
    """L_D^sim: cosine similarity of channel-L2-normalised features at each
    location, mean over locations, averaged over a list of tapped maps.
    Pooled vectors ``(N, C)`` are accepted (one location). The darkener
    minimises it."""

    def __init__(self, loss_weight: float = 0.1, eps: float = 1e-8):
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, features: Features, other: Features) -> Tensor:
        return self.loss_weight * feature_similarity(features, other,
                                                     self.eps)


@MODELS.register_module()
class BYOLLoss(nn.Module):
    """BYOL regression loss 2 - 2 cos(p, z), mean over the batch; ``target``
    is detached (stop-gradient)."""

    def __init__(self, loss_weight: float = 0.1):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        cosine = F.cosine_similarity(
            prediction.flatten(1), target.detach().flatten(1), dim=1)
        return self.loss_weight * (2 - 2 * cosine).mean()
