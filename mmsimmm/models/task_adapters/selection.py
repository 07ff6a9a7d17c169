"""Which task adapter a ``SimMinMax`` uses when its config names none: the
one registered for the task model's library (or class), so that the same
few config lines wrap an mmseg, mmpretrain or mmaction2 model."""
from typing import Dict, Optional

import torch.nn as nn

from mmsimmm.registry import TASK_ADAPTERS
from .base_adapter import unwrap


def _claims() -> Dict[str, str]:
    """``task_models`` entry -> name of the adapter class claiming it."""
    TASK_ADAPTERS.import_from_location()
    claims: Dict[str, str] = {}
    for name, adapter in TASK_ADAPTERS.module_dict.items():
        for key in getattr(adapter, 'task_models', ()):
            if key in claims and claims[key] != name:
                raise ValueError(f"task adapters {claims[key]} and {name} "
                                 f"both claim task models '{key}'")
            claims[key] = name
    return claims


def default_task_adapter(task_model: nn.Module) -> str:
    """Name of the registered adapter for ``task_model``.

    The classes of the model's MRO are looked up in order, each first as
    ``'<library>.<ClassName>'`` then as ``'<library>'`` (the top-level
    package it is defined in), against the ``task_models`` the adapters
    declare; a user's subclass of an mmpretrain classifier therefore gets
    the mmpretrain adapter.
    """
    claims = _claims()
    model = unwrap(task_model)
    for cls in type(model).__mro__:
        library = cls.__module__.split('.')[0]
        for key in (f'{library}.{cls.__name__}', library):
            if key in claims:
                return claims[key]
    known = ', '.join(sorted(set(claims.values()))) or 'none registered'
    raise ValueError(
        f'SimMinMax: no task adapter is registered for '
        f'{type(model).__module__}.{type(model).__name__}; name one with '
        f"task_adapter=dict(type=...) (adapters: {known})")


def task_adapter_cfg(task_adapter: Optional[dict],
                     task_model: nn.Module) -> dict:
    """``task_adapter`` with its ``type`` filled in from the task model's
    library when missing (``None`` = all of the adapter's defaults)."""
    cfg = dict(task_adapter or {})
    if 'type' not in cfg:
        cfg['type'] = default_task_adapter(task_model)
    return cfg
