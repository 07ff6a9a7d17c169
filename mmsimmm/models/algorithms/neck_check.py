"""Build-time checks of the BYOL necks of a ``SimMinMax`` against its task
model: a projector whose ``in_channels`` do not match the tapped features
would otherwise fail only at the first stage-2 step, after all of stage 1."""
from contextlib import contextmanager
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from ..task_adapters import BaseTaskAdapter, unwrap


@contextmanager
def _evaluating(module: nn.Module):
    """Eval mode (BN statistics untouched) and no autograd; restored."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


def _first_param(module: nn.Module) -> Optional[torch.Tensor]:
    return next(iter(module.parameters()), None)


def byol_tap_shapes(task_model: nn.Module,
                    task_adapter: BaseTaskAdapter,
                    size: Sequence[int] = (64, 64)) -> List[tuple]:
    """Shapes (without the batch dimension) of the features the BYOL
    projector receives, from one forward of a blank (2, 3, *size) batch
    through the adapter's encoder, on the task model's device."""
    model = unwrap(task_model)
    encoder = task_adapter.encoder_dict(model)
    param = _first_param(model)
    device = param.device if param is not None else torch.device('cpu')
    dtype = param.dtype if param is not None and \
        param.dtype.is_floating_point else torch.float32
    blank = torch.zeros(2, 3, *size, device=device, dtype=dtype)
    with _evaluating(model):
        features = task_adapter.encode(encoder, blank)
    return [tuple(f.shape[1:]) for f in features]


def byol_tap_channels(task_model: nn.Module,
                      task_adapter: BaseTaskAdapter,
                      size: Sequence[int] = (64, 64)) -> List[int]:
    """Channels of each BYOL feature: the projector's ``in_channels``."""
    return [shape[0] for shape in byol_tap_shapes(task_model, task_adapter,
                                                  size)]


def _input_width(branch: nn.Module) -> int:
    """Channels / features the first layer of a neck branch takes."""
    for layer in branch.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
        if isinstance(layer, nn.Linear):
            return layer.in_features
    raise TypeError(f'{type(branch).__name__}: no Conv2d or Linear layer')


def _output_width(branch: nn.Module) -> int:
    linears = [m for m in branch.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f'{type(branch).__name__}: no Linear layer')
    return linears[-1].out_features


def check_byol_necks(model: nn.Module,
                     size: Sequence[int] = (64, 64)) -> List[int]:
    """Check that the BYOL projector and predictor of a ``SimMinMax`` fit
    its task model; raise ``ValueError`` (one line saying what to set)
    otherwise. Returns the channels of the tapped features.

    Checked: one projector branch per tapped feature, each branch's input
    width equal to its feature's channels, a dense projector only on maps,
    and a predictor with as many branches as the projector taking its
    output width. A model without BYOL (``projector=None``) passes.
    """
    model = unwrap(model)
    projector, predictor = model.projector, model.predictor
    if projector is None:
        return []
    adapter = model.task_adapter
    shapes = byol_tap_shapes(model.task_model, adapter, size)
    channels = [shape[0] for shape in shapes]
    tap = f"task model's BYOL tap '{adapter.online_tap}'"
    branches = list(unwrap(projector).branches)
    if len(branches) != len(shapes):
        raise ValueError(
            f'SimMinMax: the projector has {len(branches)} branch(es) but '
            f'the {tap} gives {len(shapes)} feature(s) with channels '
            f'{channels}; set projector.in_channels={channels}')
    widths = [_input_width(b) for b in branches]
    if widths != channels:
        raise ValueError(
            f'SimMinMax: projector.in_channels={widths} but the {tap} gives '
            f'channels {channels}; set projector.in_channels={channels}')
    dense = getattr(unwrap(projector), 'dense', False)
    flat = [i for i, shape in enumerate(shapes) if len(shape) != 3]
    if dense and flat:
        raise ValueError(
            f'SimMinMax: projector.dense=True needs feature maps but the '
            f'{tap} gives feature {flat[0]} of shape (N, '
            f'{", ".join(map(str, shapes[flat[0]]))}); set dense=False')
    predictor_branches = list(unwrap(predictor).branches)
    if len(predictor_branches) != len(branches):
        raise ValueError(
            f'SimMinMax: the predictor has {len(predictor_branches)} '
            f'branch(es) but the projector has {len(branches)}; set '
            f'predictor.num_branches={len(branches)}')
    for index, (proj, pred) in enumerate(zip(branches, predictor_branches)):
        out, into = _output_width(proj), _input_width(pred)
        if out != into:
            raise ValueError(
                f'SimMinMax: projector branch {index} outputs {out} '
                f'features but the predictor takes {into}; set '
                f'predictor.in_channels={out}')
    return channels
