# Copyright (c) OpenMMLab. All rights reserved.
"""MixStyle (Zhou et al., "Domain Generalization with MixStyle", ICLR 2021):
mix the instance-level feature statistics (channel mean and std) of random
pairs of samples during training, a domain-generalisation baseline."""
from typing import Dict, Sequence

import torch
from torch import nn

from mmsimmm.registry import MODELS

__all__ = ['MixStyle', 'add_mixstyle', 'build_mixstyle_backbone']


@MODELS.register_module()
class MixStyle(nn.Module):
    """MixStyle on ``(N, C, ...)`` features; identity in eval mode.

    In training mode, with probability ``p`` per call::

        mu, sigma = mean and sqrt(var + eps) over the spatial dims (detached)
        lam ~ Beta(alpha, alpha) per sample, perm = random permutation
        out = (x - mu) / sigma * (lam * sigma + (1 - lam) * sigma[perm])
              + lam * mu + (1 - lam) * mu[perm]

    as in the authors' code ('random' mixing). Draws use torch's global RNG
    (seeded by mmengine's ``randomness``). No parameters or buffers, so
    adding it leaves a model's state dict unchanged.

    Args:
        p: Probability of mixing a batch.
        alpha: Parameter of the Beta distribution of the mixing weights.
        eps: Added to the variance.
    """

    def __init__(self, p: float = 0.5, alpha: float = 0.1, eps: float = 1e-6):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f'MixStyle: p={p!r} must be in [0, 1]')
        if alpha <= 0:
            raise ValueError(f'MixStyle: alpha={alpha!r} must be > 0')
        self.p, self.alpha, self.eps = float(p), float(alpha), float(eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.shape[0] < 2:
            return x
        if torch.rand(()) >= self.p:
            return x
        dims = tuple(range(2, x.dim()))
        mu = x.mean(dim=dims, keepdim=True).detach()
        sigma = (x.var(dim=dims, keepdim=True) + self.eps).sqrt().detach()
        # sample on CPU (global RNG), then follow the features' device
        lam = torch.distributions.Beta(self.alpha, self.alpha).sample(
            (x.shape[0], ) + (1, ) * (x.dim() - 1)).to(x.device, x.dtype)
        perm = torch.randperm(x.shape[0]).to(x.device)
        mu_mix = lam * mu + (1 - lam) * mu[perm]
        sigma_mix = lam * sigma + (1 - lam) * sigma[perm]
        return (x - mu) / sigma * sigma_mix + mu_mix

    def mix_output(self, module: nn.Module, args, output: torch.Tensor):
        """Forward hook: replace ``module``'s output by its mix. A bound
        method, so ``copy.deepcopy`` of the model (e.g. an EMA target) hooks
        the copy's MixStyle, not this one."""
        return self(output)

    def extra_repr(self) -> str:
        return f'p={self.p}, alpha={self.alpha}, eps={self.eps}'


def add_mixstyle(backbone: nn.Module,
                 after_stages: Sequence[str] = ('layer1', 'layer2'),
                 p: float = 0.5,
                 alpha: float = 0.1,
                 eps: float = 1e-6) -> nn.Module:
    """Apply MixStyle to the outputs of the named submodules of ``backbone``
    (forward hooks; the backbone's code is untouched) and return it.

    Each MixStyle is added as a child ``mixstyle_<name>`` (dots replaced by
    underscores); it has no state, so checkpoints of the plain backbone load
    unchanged and the result exports as a plain checkpoint. It is active
    only in training mode (``backbone.train()``).
    """
    if isinstance(after_stages, str) or not after_stages:
        raise ValueError('MixStyleBackbone: after_stages must be a non-empty'
                         f' list of module names, got {after_stages!r}')
    modules = dict(backbone.named_modules())
    for name in after_stages:
        if name not in modules or name == '':
            raise KeyError(
                f'MixStyleBackbone: {type(backbone).__name__} has no module '
                f'{name!r} (after_stages); e.g. ResNets have layer1..layer4')
        mixstyle = MixStyle(p=p, alpha=alpha, eps=eps)
        backbone.add_module(f"mixstyle_{name.replace('.', '_')}", mixstyle)
        modules[name].register_forward_hook(mixstyle.mix_output)
    return backbone


@MODELS.register_module(name='MixStyleBackbone')
def build_mixstyle_backbone(backbone: Dict,
                            after_stages: Sequence[str] = ('layer1', 'layer2'),
                            p: float = 0.5,
                            alpha: float = 0.1,
                            eps: float = 1e-6) -> nn.Module:
    """Config entry ``dict(type='mmsimmm.MixStyleBackbone', backbone=...,
    after_stages=('layer1', 'layer2'), p=0.5, alpha=0.1)``: builds
    ``backbone`` (in the current default scope) and returns it with MixStyle
    after the named stages (``add_mixstyle``). The result IS the wrapped
    backbone (same class, same state dict keys), so a day checkpoint of the
    plain model loads into it with ``load_from``. The authors' default
    inserts it after the first two ResNet stages.
    """
    if not isinstance(backbone, dict) or 'type' not in backbone:
        raise TypeError('MixStyleBackbone: backbone must be a config dict '
                        f'with a type, got {backbone!r}')
    return add_mixstyle(MODELS.build(backbone), after_stages, p, alpha, eps)
