"""BYOL projector / predictor of stage 2 (one branch per tapped feature)."""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmsimmm.registry import MODELS

Features = Union[Tensor, Sequence[Tensor]]


def mlp(in_channels: int, hidden_channels: int, out_channels: int):
    """Linear -> BN -> ReLU -> Linear (BYOL's MLP head)."""
    return nn.Sequential(
        nn.Linear(in_channels, hidden_channels),
        nn.BatchNorm1d(hidden_channels), nn.ReLU(inplace=True),
        nn.Linear(hidden_channels, out_channels))


class _MultiBranch(BaseModule):
    """Applies branch ``i`` to feature ``i``; a tensor input is one feature."""

    branches: nn.ModuleList

    def forward(self, features: Features) -> List[Tensor]:
        features = [features] if isinstance(features, Tensor) else features
        if len(features) != len(self.branches):
            raise ValueError(f'{type(self).__name__} has '
                             f'{len(self.branches)} branches but got '
                             f'{len(features)} features')
        return [branch(x) for branch, x in zip(self.branches, features)]


@MODELS.register_module()
class BYOLProjector(_MultiBranch):
    """Projector q of the online and target networks.

    Args:
        in_channels: channels of each tapped feature (a list gives one
            branch per feature, e.g. the 4 backbone stages in segmentation).
        hidden_channels / out_channels: MLP widths (128 / 128).
        dense: inputs are maps (N, C, H, W): conv3x3 -> ``dense_channels`` ->
            BN -> ReLU -> global average pool before the MLP. Otherwise inputs
            are pooled vectors (N, C) (or maps, pooled first).
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 hidden_channels: int = 128,
                 out_channels: int = 128,
                 dense: bool = False,
                 dense_channels: int = 64,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        in_channels = [in_channels] if isinstance(in_channels,
                                                  int) else in_channels
        self.dense = dense
        branches = []
        for channels in in_channels:
            layers = []
            if dense:
                layers += [
                    nn.Conv2d(channels, dense_channels, 3, padding=1,
                              bias=False),
                    nn.BatchNorm2d(dense_channels),
                    nn.ReLU(inplace=True)
                ]
                channels = dense_channels
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(1)
                       ] if dense else [_PoolIfMap()]
            layers.append(mlp(channels, hidden_channels, out_channels))
            branches.append(nn.Sequential(*layers))
        self.branches = nn.ModuleList(branches)


class _PoolIfMap(nn.Module):

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=(2, 3)) if x.dim() == 4 else x.flatten(1)


@MODELS.register_module()
class BYOLPredictor(_MultiBranch):
    """Predictor of the online network: MLP in -> hidden -> out per branch."""

    def __init__(self,
                 in_channels: int = 128,
                 hidden_channels: int = 128,
                 out_channels: int = 128,
                 num_branches: int = 1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.branches = nn.ModuleList(
            mlp(in_channels, hidden_channels, out_channels)
            for _ in range(num_branches))
