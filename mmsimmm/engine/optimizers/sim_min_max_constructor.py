"""Builds the ``OptimWrapperDict`` of SMM: one optimiser per trained part."""
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from mmsimmm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SimMinMaxOptimWrapperConstructor:
    """``optim_wrapper=dict(constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(optimizer=..., clip_grad=...), task=dict(optimizer=...))``.

    The model names its parts in ``optim_parts`` (part -> submodule names);
    each part's config may carry its own ``constructor`` / ``paramwise_cfg``.
    Parameter names seen by ``paramwise_cfg`` are the model's own
    (``task_model.backbone...``).
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError(
                'SimMinMaxOptimWrapperConstructor: put paramwise_cfg inside '
                'the part it applies to (darkener=dict(paramwise_cfg=...))')
        self.optim_wrapper_cfg = optim_wrapper_cfg.copy()

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        parts = getattr(model, 'optim_parts', None)
        if parts is None:
            raise TypeError(f'{type(model).__name__} has no optim_parts; '
                            'SimMinMaxOptimWrapperConstructor needs one')
        given, expected = set(self.optim_wrapper_cfg), set(parts)
        if given != expected:
            key = sorted(given ^ expected)[0]
            raise KeyError(f"optim_wrapper: part '{key}' is "
                           f"{'unknown' if key in given else 'missing'}; "
                           f'{type(model).__name__} trains {sorted(parts)}')
        wrappers = {}
        for part, cfg in self.optim_wrapper_cfg.items():
            cfg = dict(cfg)
            constructor = cfg.pop('constructor',
                                  'DefaultOptimWrapperConstructor')
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            cfg.setdefault('type', 'OptimWrapper')
            modules = nn.ModuleDict({
                name: getattr(model, name)
                for name in parts[part] if getattr(model, name) is not None
            })
            build = OPTIM_WRAPPER_CONSTRUCTORS.build(
                dict(
                    type=constructor,
                    optim_wrapper_cfg=cfg,
                    paramwise_cfg=paramwise_cfg))
            wrappers[part] = build(modules)
        return OptimWrapperDict(**wrappers)
