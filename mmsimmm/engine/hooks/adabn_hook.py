# Copyright (c) OpenMMLab. All rights reserved.
"""AdaBN (Li et al., 2016): re-estimate BatchNorm statistics on unlabelled
target-domain images before testing.

AdaBN USES TARGET DATA (unlabelled night images): it is a test-time
adaptation baseline, not a zero-shot method like SMM. Report it as such.
"""
from typing import Dict, Optional, Union

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from mmsimmm.registry import HOOKS

__all__ = ['AdaBNHook', 'reestimate_bn_statistics']


@torch.no_grad()
def reestimate_bn_statistics(model: nn.Module,
                             dataloader,
                             max_iters: Optional[int] = None,
                             forward_mode: str = 'tensor') -> int:
    """Replace the running statistics of every BatchNorm layer that the
    forward pass uses by those of ``dataloader``'s images.

    Each used BN layer's ``running_mean`` / ``running_var`` is reset and
    re-estimated as the cumulative average (``momentum=None``) of its batch
    statistics over the loader (PyTorch's BN keeps the unbiased batch
    variance). Nothing else changes: no parameter, no other buffer, and BN
    layers the forward pass does not reach keep their statistics. BN layers
    are put in train mode for the pass, every other module in eval mode
    (no dropout); the train/eval flags and momenta are restored afterwards.

    Args:
        model: An OpenMMLab model (``BaseModel``: it has a
            ``data_preprocessor`` and ``forward(inputs, data_samples,
            mode)``); a model wrapper is unwrapped.
        dataloader: Yields data batches as the model's test loader does
            (labels are not needed and not used).
        max_iters: Use at most this many batches (None: the whole loader).
        forward_mode: The ``mode`` of ``model.forward`` used for the pass;
            ``'tensor'`` runs the network without losses or post-processing.

    Returns:
        int: The number of batches used.
    """
    if is_model_wrapper(model):
        model = model.module
    bn_layers = {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats
    }
    if not bn_layers:
        raise ValueError(f'AdaBN: {type(model).__name__} has no BatchNorm '
                         'layer with running statistics to re-estimate')
    saved_flags = {name: m.training for name, m in model.named_modules()}
    saved = {
        name: (m.momentum, m.running_mean.clone(), m.running_var.clone(),
               m.num_batches_tracked.clone())
        for name, m in bn_layers.items()
    }
    used = set()
    hooks = [
        m.register_forward_pre_hook(
            lambda module, args, name=name: used.add(name))
        for name, m in bn_layers.items()
    ]
    num_batches = 0
    try:
        model.eval()
        for m in bn_layers.values():
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches
            m.train()
        for data_batch in dataloader:
            if max_iters is not None and num_batches >= max_iters:
                break
            data = model.data_preprocessor(data_batch, False)
            model(**data, mode=forward_mode)
            num_batches += 1
    finally:
        for hook in hooks:
            hook.remove()
        for name, m in bn_layers.items():
            momentum, mean, var, count = saved[name]
            m.momentum = momentum
            if name not in used:
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(count)
        for name, m in model.named_modules():
            m.training = saved_flags[name]
    if num_batches == 0:
        raise ValueError('AdaBN: the target dataloader yielded no batch')
    if not used:
        raise ValueError(
            f'AdaBN: forward(mode={forward_mode!r}) of '
            f'{type(model).__name__} used none of its BatchNorm layers')
    return num_batches


@HOOKS.register_module()
class AdaBNHook(Hook):
    """Before testing, re-estimate the model's BN statistics on unlabelled
    target-domain (night) images: AdaBN. USES TARGET DATA, NOT ZERO-SHOT.

    Add to a test config (``custom_hooks``) and run ``tools/test.py CONFIG
    DAY_CHECKPOINT``: the checkpoint is loaded, the BN running statistics
    are replaced by the cumulative average of the batch statistics over
    ``dataloader`` (all weights untouched, see
    ``reestimate_bn_statistics``), then every test set of the run is
    evaluated with them; so with day and night test sets, the day score is
    that of the night-adapted model. Nothing happens before validation
    during training.

    Args:
        dataloader: Dataloader config (built with the runner, in its default
            scope) or a ``DataLoader`` of unlabelled target images, with a
            test pipeline (no augmentation, labels not needed).
        max_iters: Use at most this many batches (None: the whole loader).
        forward_mode: ``mode`` of ``model.forward`` for the pass.
    """
    priority = 'VERY_HIGH'  # before hooks that evaluate or visualise

    def __init__(self,
                 dataloader: Union[Dict, DataLoader],
                 max_iters: Optional[int] = None,
                 forward_mode: str = 'tensor'):
        if not isinstance(dataloader, (dict, DataLoader)):
            raise TypeError('AdaBNHook: dataloader must be a dataloader '
                            f'config dict or a DataLoader, not '
                            f'{type(dataloader).__name__}')
        if max_iters is not None and (not isinstance(max_iters, int)
                                      or max_iters < 1):
            raise ValueError(
                f'AdaBNHook: max_iters={max_iters!r} must be a positive int')
        self.dataloader = dataloader
        self.max_iters = max_iters
        self.forward_mode = forward_mode

    def before_test(self, runner) -> None:
        loader = self.dataloader
        if isinstance(loader, dict):
            loader = runner.build_dataloader(loader, seed=runner.seed)
        if len(loader.dataset) == 0:
            dataset_cfg = self.dataloader.get('dataset', {}) if isinstance(
                self.dataloader, dict) else {}
            raise FileNotFoundError(
                'AdaBNHook: the target dataloader has no images (data_root='
                f"{dataset_cfg.get('data_root')!r}, data_prefix="
                f"{dataset_cfg.get('data_prefix')!r})")
        num_batches = reestimate_bn_statistics(runner.model, loader,
                                               self.max_iters,
                                               self.forward_mode)
        print_log(
            f'AdaBN: BN statistics re-estimated on {num_batches} batches of '
            f'{len(loader.dataset)} unlabelled target images',
            logger='current')
