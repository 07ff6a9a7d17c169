"""Task adapter for mmaction2 recognizers: ``Recognizer3D`` (e.g. I3D, a
``ResNet3d`` inflated from 2D, with ``I3DHead``) and ``Recognizer2D`` (TSN).

The darkener works on frames: a batch of clips is flattened to
``(frames, 3, H, W)`` for D and restored to the preprocessor's layout
afterwards. mmaction2's preprocessor stacks

* ``format_shape='NCTHW'`` (3D recognizers): ``(N, clips, C, T, H, W)``,
* ``format_shape='NCHW'`` (2D recognizers, TSN): ``(N, segments, C, H, W)``
  (the frames of a sample along dim 1, i.e. N x T x C x H x W),

both including mmaction2's multi-clip / multi-crop test views in dim 1.
"""
from typing import List, Optional

import torch.nn as nn
from torch import Tensor

from mmsimmm.registry import TASK_ADAPTERS
from .base_adapter import BaseTaskAdapter, flatten_features, unwrap

# frames given to a 3D backbone when only images come in (the build-time
# BYOL probe): enough for I3D's temporal strides and pool2
PROBE_FRAMES = 8


def is_video_backbone(module: nn.Module) -> bool:
    """Whether ``module`` convolves over time (a 3D backbone)."""
    return any(isinstance(m, nn.Conv3d) for m in module.modules())


@TASK_ADAPTERS.register_module()
class MMActionTaskAdapter(BaseTaskAdapter):
    """Action recognition as in the paper: L_D^sim and BYOL on the pooled
    clip feature (the output of the head's global average pool: one 2048-d
    vector per clip for I3D, per segment for TSN), the EMA target copying
    the backbone and pooling the same way. Use a pooled projector
    (``BYOLProjector(in_channels=2048, hidden_channels=64,
    out_channels=64)``).

    Stage 1 draws E per frame (SimMinMax draws one per darkener input);
    stage 2 darkens all frames of a clip with one exposure map E'
    (:meth:`frames_per_exposure`), so a clip is darkened consistently over
    time.

    mmaction2's decoders (decord, PyAV, OpenCV, raw frames) all give RGB
    frames, so its preprocessor's ``to_rgb=True`` means the model sees BGR,
    and no conversion means RGB (the opposite of mmcv's image loading that
    :class:`BaseTaskAdapter` assumes).
    """
    channel_conversion_attrs = ('to_rgb', )
    channel_conversion_keys = dict(to_rgb='bgr')
    task_models = ('mmaction', )
    # dimensions of one sample's input: (segments, C, H, W) for 2D
    # recognizers, (clips, C, T, H, W) for 3D ones (set from format_shape)
    sample_ndim = 4

    def __init__(self,
                 darken_taps=('cls_head.avg_pool', ),
                 online_tap='cls_head.avg_pool',
                 encoder_modules=('backbone', ),
                 feature_forward='extract_feat',
                 input_channel_order=None):
        super().__init__(darken_taps, online_tap, encoder_modules,
                         feature_forward, input_channel_order)

    # ---- colour space and layout ----
    def set_preprocessor_cfg(self, cfg: Optional[dict]) -> None:
        if not cfg:
            return
        self._order_from_cfg = 'bgr' if cfg.get('to_rgb') else 'rgb'
        format_shape = cfg.get('format_shape', 'NCHW')
        if format_shape not in ('NCHW', 'NCTHW', 'MIX2d3d'):
            raise ValueError(
                f'{type(self).__name__}: data_preprocessor.format_shape='
                f"{format_shape!r} is not a video layout SMM can darken "
                "('NCHW', 'NCTHW' or 'MIX2d3d')")
        self.sample_ndim = 5 if format_shape == 'NCTHW' else 4

    def input_order(self, preprocessor: nn.Module) -> str:
        if self.input_channel_order is not None:
            return self.input_channel_order
        if self._order_from_cfg is not None:
            return self._order_from_cfg
        return 'bgr' if getattr(preprocessor, 'to_rgb', False) else 'rgb'

    @staticmethod
    def frames(inputs: Tensor) -> Tensor:
        """Model inputs -> frames (F, C, H, W), in the order
        sample, clip, time."""
        if inputs.dim() == 6:  # (N, clips, C, T, H, W)
            return inputs.transpose(2, 3).flatten(0, 2)
        if inputs.dim() == 5:  # (N, segments, C, H, W)
            return inputs.flatten(0, 1)
        if inputs.dim() == 4:  # already frames
            return inputs
        raise ValueError(
            f'MMActionTaskAdapter: model inputs of shape {tuple(inputs.shape)}'
            ' are not (N, clips, C, T, H, W) (format_shape NCTHW) or '
            '(N, segments, C, H, W) (format_shape NCHW)')

    @staticmethod
    def restore(frames: Tensor, like: Tensor) -> Tensor:
        """Inverse of :meth:`frames`: back to the layout of ``like``."""
        if like.dim() == 6:
            n, clips, c, t, h, w = like.shape
            return frames.reshape(n, clips, t, c, h, w).transpose(2, 3)
        return frames.reshape(like.shape)

    def frames_per_exposure(self, inputs: Tensor) -> int:
        """Consecutive frames of :meth:`frames` that share one stage-2
        exposure map: the T frames of a clip (3D), the segments of a sample
        (2D: TSN's segments are one clip's frames)."""
        if inputs.dim() == 6:
            return inputs.shape[3]
        if inputs.dim() == 5:
            return inputs.shape[1]
        return 1

    def to_unit_rgb(self, preprocessor: nn.Module, inputs: Tensor) -> Tensor:
        return super().to_unit_rgb(preprocessor, self.frames(inputs))

    def from_unit_rgb(self, preprocessor: nn.Module, img: Tensor,
                      like: Tensor) -> Tensor:
        frames = super().from_unit_rgb(preprocessor, img, like)
        return self.restore(frames, like)

    # ---- forwards ----
    def extract_features(self, task_model: nn.Module, inputs: Tensor):
        """Through the head, so its pooling (the stage-1 tap) runs."""
        model = unwrap(task_model)
        return getattr(model, self.feature_forward)(inputs, stage='head')

    def encode(self, encoders: nn.ModuleDict, inputs: Tensor) -> List[Tensor]:
        """The target's pooled features, one per clip (3D) or segment (2D),
        as the head's average pool gives them to the online branch."""
        video = is_video_backbone(encoders)
        if inputs.dim() == 6 or (inputs.dim() == 5 and not video):
            out = inputs.flatten(0, 1)  # what the recognizers feed
        elif inputs.dim() == 4 and video:  # images: a still clip each
            out = inputs.unsqueeze(2).expand(-1, -1, PROBE_FRAMES, -1, -1)
        else:
            out = inputs
        for name in self.encoder_modules:
            out = encoders[self.encoder_key(name)](out)
        return [
            f.flatten(2).mean(2) if f.dim() > 2 else f
            for f in flatten_features(out)
        ]
