"""Stop training at the first NaN or Inf loss, before it is checkpointed."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmsimmm.errors import NonFiniteLossError
from mmsimmm.registry import HOOKS


def first_non_finite(outputs: dict) -> Optional[tuple]:
    """``(name, value)`` of the first non-finite logged value, the summed
    ``loss`` last (it is non-finite whenever a term is)."""
    names = [k for k in outputs if k != 'loss'] + (
        ['loss'] if 'loss' in outputs else [])
    for name in names:
        value = outputs[name]
        if isinstance(value, torch.Tensor):
            bad = value.detach()[~torch.isfinite(value.detach())]
            if bad.numel():
                return name, bad.flatten()[0].item()
        elif isinstance(value, float) and not math.isfinite(value):
            return name, value
    return None


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` naming the term and the iteration
    when a value the model's ``train_step`` returned (its loss terms and
    logged values) is NaN or Inf.

    It runs before every other ``after_train_iter`` hook, so the
    ``CheckpointHook`` never saves the broken weights: the last checkpoint
    on disk is the last good one.
    """
    priority = 'HIGHEST'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        found = first_non_finite(outputs or {})
        if found is None:
            return
        name, value = found
        last = runner.message_hub.get_info('last_ckpt')
        kept = (f'the last good checkpoint is {last}' if last else
                'no checkpoint was written yet')
        raise NonFiniteLossError(
            f"'{name}' is {value} at iteration {batch_idx + 1}: training "
            f'stopped before saving this iteration; {kept}')
