"""What SMM needs to know about a downstream task model, in one small object.

The algorithm never inspects the task model's type: which layers are tapped,
how a batch is unpacked, how inputs map to RGB in [0, 1] and which modules
form the BYOL encoder are answered by the adapter of its library.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmsimmm.registry import TASK_ADAPTERS


def unwrap(module: nn.Module) -> nn.Module:
    """The model inside a (distributed) model wrapper."""
    from mmengine.model import is_model_wrapper
    return module.module if is_model_wrapper(module) else module


def flatten_features(outputs) -> List[Tensor]:
    """Tensors of nested tuples/lists, in order."""
    if isinstance(outputs, Tensor):
        return [outputs]
    return [t for item in outputs for t in flatten_features(item)]


@TASK_ADAPTERS.register_module()
class BaseTaskAdapter:
    """Task adapter for models whose ``loss(inputs, data_samples)`` takes a
    batched image tensor (N, 3, H, W).

    Args:
        darken_taps: module paths of the task model whose outputs feed
            L_D^sim in stage 1 (tuples are flattened and averaged over).
        online_tap: module path whose output (recorded during the task-loss
            forward, so nothing is recomputed) feeds the online BYOL branch.
        encoder_modules: top-level modules, applied in order, that form the
            encoder copied into the EMA target (the online branch is the same
            chain inside the task model).
        feature_forward: method of the task model that runs exactly as far
            as ``darken_taps`` need (e.g. ``'extract_feat'``).
        input_channel_order: ``'rgb'`` or ``'bgr'``: the channel order of
            the task model's inputs after its data preprocessor. ``None``:
            from the preprocessor's config (see
            :meth:`set_preprocessor_cfg`): ``bgr_to_rgb`` / ``to_rgb`` ->
            RGB, ``rgb_to_bgr`` -> BGR, no conversion -> BGR (mmcv loads
            BGR); without a config, a preprocessor that swaps channels is
            taken as ``bgr_to_rgb``.
    """
    # attribute of the data preprocessor telling whether it swaps channels
    channel_conversion_attrs: Tuple[str, ...] = ('_channel_conversion', )
    # config keys of the preprocessors of mmengine/mmseg/mmdet and
    # mmpretrain/mmaction, and the order of the model inputs they produce
    channel_conversion_keys = dict(
        bgr_to_rgb='rgb', to_rgb='rgb', rgb_to_bgr='bgr')
    # dimensions of one sample's input: (C, H, W)
    sample_ndim = 3
    # task models this adapter is SimMinMax's default for: a library
    # ('mmseg') or one class of it ('mmpretrain.ImageToImageRetriever');
    # see task_adapters.selection
    task_models: Tuple[str, ...] = ()

    def __init__(self,
                 darken_taps: Sequence[str] = ('backbone', ),
                 online_tap: str = 'backbone',
                 encoder_modules: Sequence[str] = ('backbone', ),
                 feature_forward: str = 'extract_feat',
                 input_channel_order: Optional[str] = None):
        self.darken_taps = list(darken_taps)
        self.online_tap = online_tap
        self.encoder_modules = list(encoder_modules)
        self.feature_forward = feature_forward
        self.input_channel_order = self._check_order(input_channel_order)
        self._order_from_cfg: Optional[str] = None

    # ---- colour space: the darkener works on RGB in [0, 1] ----
    def _check_order(self, order: Optional[str]) -> Optional[str]:
        if order not in (None, 'rgb', 'bgr'):
            raise ValueError(f'{type(self).__name__}: input_channel_order '
                             f"must be 'rgb', 'bgr' or None, got {order!r}")
        return order

    def set_preprocessor_cfg(self, cfg: Optional[dict]) -> None:
        """Read the input channel order from the task model's data
        preprocessor config (the built module only keeps "swaps channels",
        not in which direction)."""
        if not cfg:
            return
        flags = [key for key in self.channel_conversion_keys if cfg.get(key)]
        if len(flags) > 1:
            raise ValueError(f'{type(self).__name__}: data_preprocessor sets '
                             f'both {flags[0]} and {flags[1]}')
        self._order_from_cfg = (self.channel_conversion_keys[flags[0]]
                                if flags else 'bgr')

    def input_order(self, preprocessor: nn.Module) -> str:
        """'rgb' or 'bgr': the channel order of the model inputs."""
        if self.input_channel_order is not None:
            return self.input_channel_order
        if self._order_from_cfg is not None:
            return self._order_from_cfg
        swaps = any(
            getattr(preprocessor, attr, False)
            for attr in self.channel_conversion_attrs)
        return 'rgb' if swaps else 'bgr'

    def _normalisation(self, preprocessor: nn.Module, like: Tensor):
        if getattr(preprocessor, '_enable_normalize', False):
            mean = preprocessor.mean.to(like).reshape(1, -1, 1, 1)
            std = preprocessor.std.to(like).reshape(1, -1, 1, 1)
        else:
            mean = like.new_zeros(1, 1, 1, 1)
            std = like.new_ones(1, 1, 1, 1)
        return mean, std, self.input_order(preprocessor) == 'bgr'

    def to_unit_rgb(self, preprocessor: nn.Module, inputs: Tensor) -> Tensor:
        """Model inputs (normalised, maybe BGR) -> RGB images in [0, 1],
        shaped (frames, 3, H, W) for the darkener."""
        mean, std, is_bgr = self._normalisation(preprocessor, inputs)
        img = (inputs * std + mean) / 255.0
        return img.flip(1) if is_bgr else img

    def from_unit_rgb(self, preprocessor: nn.Module, img: Tensor,
                      like: Tensor) -> Tensor:
        """Inverse of :meth:`to_unit_rgb`: back to the layout of ``like``
        (the model inputs), as the task model was trained to see them."""
        mean, std, is_bgr = self._normalisation(preprocessor, img)
        img = img.flip(1) if is_bgr else img
        return (img * 255.0 - mean) / std

    def frames_per_exposure(self, inputs: Tensor) -> int:
        """How many consecutive images of :meth:`to_unit_rgb`'s output
        share one stage-2 exposure map (the frames of a clip; 1 for
        images)."""
        return 1

    # ---- batches holding several views of each image ----
    def split_view_batch(self, data: dict) -> Optional[List[dict]]:
        """The views of a multi-view batch as ordinary batches, or ``None``
        for an ordinary batch.

        A pipeline that packs V views per sample (mmpretrain's ``MultiView``
        + ``PackInputs``, or ``mmsimmm.PairedPhotometricViews`` +
        ``mmsimmm.PackViews``) gives each sample ``inputs = [view_0, ...]``;
        collated, ``data['inputs']`` holds V per-view batches (tuples of N
        ``(C, H, W)`` tensors under ``pseudo_collate``, ``(N, C, H, W)``
        tensors under ``default_collate``). Each returned batch is ``data``
        with ``inputs`` = view v (a list, as preprocessors expect) and the
        same ``data_samples``, ready for the task's data preprocessor.
        """
        inputs = data.get('inputs') if isinstance(data, dict) else None
        if not isinstance(inputs, (list, tuple)) or not inputs:
            return None
        first = inputs[0]
        if isinstance(first, Tensor) and first.dim() == self.sample_ndim:
            return None  # N samples of one view (pseudo_collate)
        is_view = (isinstance(first, (list, tuple))
                   or (isinstance(first, Tensor)
                       and first.dim() == self.sample_ndim + 1))
        if not is_view:
            raise TypeError(
                f"{type(self).__name__}: data['inputs'] holds "
                f'{type(first).__name__} of shape '
                f"{tuple(getattr(first, 'shape', ()))}; expected samples "
                f'with {self.sample_ndim} dimensions or views of them')
        return [
            dict(data, inputs=view if isinstance(view, Tensor) else
                 list(view)) for view in inputs
        ]

    # ---- forwards ----
    def extract_features(self, task_model: nn.Module, inputs: Tensor):
        """Run the task model as far as the darkening taps."""
        return getattr(unwrap(task_model), self.feature_forward)(inputs)

    def task_loss(self, task_model: nn.Module, inputs: Tensor,
                  data_samples) -> dict:
        # through forward(), so a distributed wrapper synchronises gradients
        return task_model(inputs, data_samples, mode='loss')

    def images_to_darken(self, inputs: Tensor, data_samples) -> Tensor:
        """The stage-2 images D darkens: every image of the batch (a
        retrieval adapter picks the queries of its tuples)."""
        return inputs

    def adapt_batch(self, inputs: Tensor, dark_inputs: Tensor,
                    data_samples) -> Tuple[Tensor, list]:
        """The stage-2 batch and its labels: the day and darkened views in
        one batch, both with the day labels (CE(day) + CE(night)); BYOL
        reads the same batch."""
        return (torch.cat([inputs, dark_inputs]),
                self.repeat_samples(data_samples, 2))

    def adapt_task_loss(self, task_model: nn.Module, inputs: Tensor,
                        dark_inputs: Tensor, data_samples) -> dict:
        """Stage-2 task loss on :meth:`adapt_batch`."""
        return self.task_loss(
            task_model, *self.adapt_batch(inputs, dark_inputs, data_samples))

    def repeat_samples(self, data_samples, times: int):
        """Labels of ``times`` views of the same images (shared, read-only)."""
        return list(data_samples) * times

    def encode(self, encoders: nn.ModuleDict, inputs: Tensor) -> List[Tensor]:
        """The BYOL encoder chain on ``inputs`` (used for the EMA target)."""
        out = inputs
        for name in self.encoder_modules:
            out = encoders[self.encoder_key(name)](out)
        return flatten_features(out)

    @staticmethod
    def encoder_key(name: str) -> str:
        return name.replace('.', '__')

    def encoder_dict(self, task_model: nn.Module) -> nn.ModuleDict:
        model = unwrap(task_model)
        modules = dict(model.named_modules())
        missing = [n for n in self.encoder_modules if n not in modules]
        if missing:
            raise KeyError(f'{type(self).__name__}: {type(model).__name__} '
                           f"has no module '{missing[0]}' (encoder_modules)")
        return nn.ModuleDict(
            {self.encoder_key(n): modules[n]
             for n in self.encoder_modules})

    @staticmethod
    def split_views(features: List[Tensor], views: int = 2):
        """[(V*N, ...)] -> V lists of [(N, ...)]."""
        chunks = [torch.chunk(f, views) for f in features]
        return [[c[v] for c in chunks] for v in range(views)]
