"""Checkpoints that load with ``torch.load(weights_only=True)``.

mmengine stores the MessageHub's ``HistoryBuffer`` objects in every
checkpoint; unpickling them needs ``getattr`` (their statistics methods),
which ``weights_only`` rightly refuses. :class:`PlainMessageHubHook` stores
the hub as plain data (dicts, lists, numbers, strings, tensors) and rebuilds
the buffers when a checkpoint is loaded, so ``--resume`` works with safe
loading on.
"""
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmsimmm.registry import HOOKS

PLAIN_FORMAT = 'mmsimmm.plain_message_hub.v1'
_SCALARS = (type(None), bool, int, float, complex, str, bytes, torch.dtype,
            torch.device, torch.Size)


def to_plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and numpy arrays as
    tensors (containers recursed); ``TypeError`` for any other object."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, _SCALARS) or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in 'biuf':
            return torch.from_numpy(np.ascontiguousarray(value))
        return to_plain(value.tolist())
    if isinstance(value, OrderedDict):
        return OrderedDict((k, to_plain(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(to_plain(v) for v in value)
    if isinstance(value, (list, set, frozenset)):
        return [to_plain(v) for v in value]
    raise TypeError(f'{type(value).__module__}.{type(value).__qualname__}')


def plain_items(mapping: dict, where: str) -> OrderedDict:
    """The items of ``mapping`` as plain data; an item that is not plain
    data is left out with a warning naming it (it could not be loaded
    safely)."""
    plain = OrderedDict()
    for key, value in mapping.items():
        try:
            plain[key] = to_plain(value)
        except TypeError as error:
            warnings.warn(f'{where}: {key!r} is a {error}, not plain data; '
                          'it is not saved in the checkpoint')
    return plain


def is_plain_message_hub(state: Any) -> bool:
    return isinstance(state, dict) and state.get('format') == PLAIN_FORMAT


def message_hub_to_plain(state: dict) -> dict:
    """A ``MessageHub.state_dict()`` with each ``HistoryBuffer`` as
    ``dict(log_history=tensor, count_history=tensor, max_length=int)``."""
    if is_plain_message_hub(state):
        return state
    scalars = OrderedDict()
    for key, buffer in state.get('log_scalars', {}).items():
        logs, counts = buffer.data
        scalars[key] = dict(
            log_history=to_plain(np.asarray(logs)),
            count_history=to_plain(np.asarray(counts)),
            max_length=int(buffer.max_length))
    return dict(
        format=PLAIN_FORMAT,
        log_scalars=scalars,
        runtime_info=plain_items(state.get('runtime_info', {}),
                                 'message_hub.runtime_info'),
        resumed_keys=OrderedDict(
            (k, bool(v)) for k, v in state.get('resumed_keys', {}).items()))


def _host_array(history) -> np.ndarray:
    # resume maps checkpoints to the training device
    if isinstance(history, torch.Tensor):
        return history.cpu().numpy()
    return np.asarray(history)


def message_hub_from_plain(state: dict) -> dict:
    """The ``MessageHub.state_dict()`` that :func:`message_hub_to_plain`
    was given (``HistoryBuffer`` objects rebuilt)."""
    if not is_plain_message_hub(state):
        return state
    scalars = OrderedDict(
        (key, HistoryBuffer(_host_array(buffer['log_history']),
                            _host_array(buffer['count_history']),
                            buffer['max_length']))
        for key, buffer in state['log_scalars'].items())
    return dict(
        log_scalars=scalars,
        runtime_info=OrderedDict(state['runtime_info']),
        resumed_keys=OrderedDict(state['resumed_keys']))


def make_checkpoint_plain(checkpoint: dict) -> dict:
    """Turn the message hub and metadata of an mmengine checkpoint into
    plain data, in place; returns the checkpoint."""
    if 'message_hub' in checkpoint:
        checkpoint['message_hub'] = message_hub_to_plain(
            checkpoint['message_hub'])
    if isinstance(checkpoint.get('meta'), dict):
        checkpoint['meta'] = plain_items(checkpoint['meta'], 'meta')
    return checkpoint


@HOOKS.register_module()
class PlainMessageHubHook(Hook):
    """Write checkpoints that ``torch.load(weights_only=True)`` accepts and
    read them back on resume.

    ``before_save_checkpoint`` replaces ``checkpoint['message_hub']`` (and
    numpy values in ``meta``) by plain data; ``after_load_checkpoint``
    rebuilds the ``HistoryBuffer`` objects before the Runner loads them into
    its MessageHub. Checkpoints without the plain form load unchanged.
    """
    # after the hooks that add to the checkpoint, before none that read it
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        make_checkpoint_plain(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_from_plain(
                checkpoint['message_hub'])
