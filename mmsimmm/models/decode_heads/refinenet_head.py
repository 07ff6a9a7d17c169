# Copyright (c) mmsimmm contributors. All rights reserved.
"""Multi-path RefineNet decode head.

Re-implementation of the 4-cascaded RefineNet of

    Lin, Milan, Shen, Reid. "RefineNet: Multi-Path Refinement Networks for
    High-Resolution Semantic Segmentation", CVPR 2017.

for MMSegmentation 1.x. The head takes all backbone stages (e.g. ResNet
stages at strides 4/8/16/32), reduces each with a 3x3 convolution
(``path_channels``), and refines them from the deepest to the shallowest
stage with RefineNet blocks (Residual Conv Units, Multi-Resolution Fusion,
Chained Residual Pooling, output RCU). The prediction is produced at the
resolution of the shallowest input (1/4 of the image for a ResNet backbone),
like the other MMSegmentation heads.
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import Tensor

from mmsimmm.registry import MODELS

OptConfigType = Optional[dict]


class ResidualConvUnit(nn.Module):
    """Residual Conv Unit (RCU): ``x + conv(relu(conv(relu(x))))``.

    Both convolutions are 3x3 and keep the channel count. As in the original
    RefineNet there is no normalization by default (``norm_cfg=None``).

    Args:
        channels (int): Number of input/output channels.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict, optional): Config of the norm layers (applied after
            each conv). Default: None.
        act_cfg (dict): Config of the activation. Default: ReLU.
    """

    def __init__(self,
                 channels: int,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        # pre-activation; the first activation must not be in-place because
        # its input is also the identity branch.
        act_cfg = dict(act_cfg)
        if 'inplace' in act_cfg:
            act_cfg['inplace'] = False
        self.conv1 = ConvModule(
            channels,
            channels,
            3,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            inplace=False,
            order=('act', 'conv', 'norm'))
        self.conv2 = ConvModule(
            channels,
            channels,
            3,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            inplace=False,
            order=('act', 'conv', 'norm'))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.conv1(x))


class MultiResolutionFusion(nn.Module):
    """Multi-Resolution Fusion (MRF).

    Each input is projected by a 3x3 conv to ``out_channels`` (the smallest
    input channel count), upsampled to the largest input resolution and the
    results are summed. Not used for a single input.

    Args:
        in_channels (Sequence[int]): Channels of each input.
        out_channels (int): Channels of the fused output.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict, optional): Config of the norm layers.
        align_corners (bool): ``align_corners`` of the upsampling.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 align_corners: bool = False):
        super().__init__()
        self.align_corners = align_corners
        self.convs = nn.ModuleList([
            ConvModule(
                c,
                out_channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=None) for c in in_channels
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        # largest spatial resolution among the inputs
        size = max((x.shape[2:] for x in inputs), key=lambda s: s[0] * s[1])
        out = None
        for conv, x in zip(self.convs, inputs):
            y = conv(x)
            if y.shape[2:] != size:
                y = resize(
                    y,
                    size=size,
                    mode='bilinear',
                    align_corners=self.align_corners)
            out = y if out is None else out + y
        return out


class ChainedResidualPooling(nn.Module):
    """Chained Residual Pooling (CRP).

    ``x = relu(x)``; then a chain of ``num_blocks`` pooling blocks (5x5 max
    pooling with stride 1 followed by a 3x3 conv), each fed with the output of
    the previous block, whose outputs are all added to ``x``.

    Args:
        channels (int): Number of input/output channels.
        num_blocks (int): Number of pooling blocks in the chain. Default: 4.
        pool_size (int): Max-pooling window. Default: 5.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict, optional): Config of the norm layers.
        act_cfg (dict): Config of the leading activation. Default: ReLU.
    """

    def __init__(self,
                 channels: int,
                 num_blocks: int = 4,
                 pool_size: int = 5,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        act_cfg = dict(act_cfg)
        if act_cfg['type'] in ('ReLU', 'LeakyReLU', 'ReLU6', 'ELU'):
            act_cfg['inplace'] = False
        self.act = build_activation_layer(act_cfg)
        self.pool = nn.MaxPool2d(
            kernel_size=pool_size, stride=1, padding=pool_size // 2)
        self.convs = nn.ModuleList([
            ConvModule(
                channels,
                channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=None) for _ in range(num_blocks)
        ])

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(x)
        path = x
        for conv in self.convs:
            path = conv(self.pool(path))
            x = x + path
        return x


class RefineNetBlock(nn.Module):
    """One RefineNet block.

    ``num_input_rcus`` RCUs per input -> MRF (if several inputs) -> CRP ->
    ``num_output_rcus`` RCUs. The output has ``min(in_channels)`` channels and
    the largest input resolution.

    Args:
        in_channels (Sequence[int]): Channels of each input; the first input
            is conventionally the highest-resolution one.
        num_input_rcus (int): RCUs applied to each input. Default: 2.
        num_crp_blocks (int): Pooling blocks in the CRP. Default: 4.
        num_output_rcus (int): RCUs after the CRP. Default: 1.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict, optional): Config of the norm layers.
        act_cfg (dict): Config of the activations.
        align_corners (bool): ``align_corners`` of the upsampling.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_input_rcus: int = 2,
                 num_crp_blocks: int = 4,
                 num_output_rcus: int = 1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: dict = dict(type='ReLU'),
                 align_corners: bool = False):
        super().__init__()
        in_channels = list(in_channels)
        assert len(in_channels) >= 1
        self.in_channels = in_channels
        self.out_channels = min(in_channels)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.input_rcus = nn.ModuleList([
            nn.Sequential(*[
                ResidualConvUnit(c, act_cfg=act_cfg, **cfg)
                for _ in range(num_input_rcus)
            ]) for c in in_channels
        ])
        if len(in_channels) > 1:
            self.mrf = MultiResolutionFusion(
                in_channels,
                self.out_channels,
                align_corners=align_corners,
                **cfg)
        else:
            self.mrf = None
        self.crp = ChainedResidualPooling(
            self.out_channels,
            num_blocks=num_crp_blocks,
            act_cfg=act_cfg,
            **cfg)
        self.output_rcus = nn.Sequential(*[
            ResidualConvUnit(self.out_channels, act_cfg=act_cfg, **cfg)
            for _ in range(num_output_rcus)
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        assert len(inputs) == len(self.input_rcus)
        feats = [rcu(x) for rcu, x in zip(self.input_rcus, inputs)]
        x = self.mrf(feats) if self.mrf is not None else feats[0]
        x = self.crp(x)
        return self.output_rcus(x)


@MODELS.register_module()
class RefineNetHead(BaseDecodeHead):
    """Multi-path (cascaded) RefineNet head.

    This head is the implementation of `RefineNet
    <https://arxiv.org/abs/1611.06612>`_ (4-cascaded multi-path variant).

    With ``N`` inputs (ordered from the highest to the lowest resolution),
    every input is reduced by a 3x3 conv to ``path_channels[i]`` channels.
    RefineNet-N refines the deepest path alone; RefineNet-i (i < N) fuses the
    output of RefineNet-(i+1) with path i. The output of RefineNet-1 is
    projected to ``channels`` (only if the channel counts differ), passed
    through ``num_final_rcus`` RCUs, dropout and the 1x1 classifier.

    Args:
        path_channels (Sequence[int]): Output channels of the dimension
            reducing conv of each path. The paper uses 512 for the deepest
            stage and 256 for the others. Default: (256, 256, 256, 512).
        num_input_rcus (int): RCUs per input of each RefineNet block.
            Default: 2.
        num_crp_blocks (int): Pooling blocks in each Chained Residual Pooling.
            Default: 4.
        num_output_rcus (int): RCUs at the output of each RefineNet block.
            Default: 1.
        num_final_rcus (int): RCUs before the classifier. Default: 2.
        block_norm_cfg (dict, optional): Norm config inside the RefineNet
            blocks and final RCUs. The original RefineNet has none.
            ``self.norm_cfg`` is only used by the path reducing convs and by
            the projection to ``channels``. Default: None.
        input_dropout_ratio (float): dropout on the inputs listed in
            ``input_dropout_indices`` (the reference: 0.5 on the two deepest
            ResNet stages). Default: 0 (none).
        input_dropout_indices (Sequence[int]): indices of the selected
            inputs that ``input_dropout_ratio`` applies to. Default: (2, 3).
        elementwise_dropout (bool): element-wise ``nn.Dropout`` (the
            reference) instead of mmseg's channel-wise ``nn.Dropout2d``, for
            ``dropout_ratio`` and ``input_dropout_ratio``. Default: False.
        **kwargs: Arguments of :class:`BaseDecodeHead` (``in_channels`` must
            be a list with ``input_transform='multiple_select'``).
    """

    def __init__(self,
                 path_channels: Sequence[int] = (256, 256, 256, 512),
                 num_input_rcus: int = 2,
                 num_crp_blocks: int = 4,
                 num_output_rcus: int = 1,
                 num_final_rcus: int = 2,
                 block_norm_cfg: OptConfigType = None,
                 input_dropout_ratio: float = 0.0,
                 input_dropout_indices: Sequence[int] = (2, 3),
                 elementwise_dropout: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        assert self.input_transform == 'multiple_select', \
            'RefineNetHead requires input_transform="multiple_select"'
        if not 0.0 <= input_dropout_ratio < 1.0:
            raise ValueError('RefineNetHead: input_dropout_ratio must be in '
                             f'[0, 1), got {input_dropout_ratio}')
        bad = [i for i in input_dropout_indices
               if not 0 <= i < len(self.in_channels)]
        if bad and input_dropout_ratio > 0:
            raise ValueError(f'RefineNetHead: input_dropout_indices {bad} '
                             f'out of range for {len(self.in_channels)} '
                             'inputs')
        dropout = nn.Dropout if elementwise_dropout else nn.Dropout2d
        if self.dropout is not None and elementwise_dropout:
            self.dropout = nn.Dropout(self.dropout_ratio)
        self.input_dropout = (
            dropout(input_dropout_ratio) if input_dropout_ratio > 0 else None)
        self.input_dropout_indices = tuple(input_dropout_indices)
        path_channels = list(path_channels)
        assert len(path_channels) == len(self.in_channels), \
            f'len(path_channels)={len(path_channels)} must equal ' \
            f'len(in_channels)={len(self.in_channels)}'
        self.path_channels = path_channels
        num_paths = len(path_channels)

        # dimension reducing convs (one per path); the RCUs that follow start
        # with an activation, hence no activation here.
        self.reduce_convs = nn.ModuleList([
            ConvModule(
                in_c,
                out_c,
                3,
                padding=1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=None)
            for in_c, out_c in zip(self.in_channels, path_channels)
        ])

        block_kwargs = dict(
            num_input_rcus=num_input_rcus,
            num_crp_blocks=num_crp_blocks,
            num_output_rcus=num_output_rcus,
            conv_cfg=self.conv_cfg,
            norm_cfg=block_norm_cfg,
            act_cfg=self.act_cfg,
            align_corners=self.align_corners)
        # refine_blocks[i] is RefineNet-(i+1): it consumes path i and (for
        # i < num_paths - 1) the output of RefineNet-(i+2).
        blocks = [None] * num_paths
        prev_channels = None
        for i in reversed(range(num_paths)):
            if prev_channels is None:
                block_in = [path_channels[i]]
            else:
                block_in = [path_channels[i], prev_channels]
            blocks[i] = RefineNetBlock(block_in, **block_kwargs)
            prev_channels = blocks[i].out_channels
        self.refine_blocks = nn.ModuleList(blocks)

        if prev_channels != self.channels:
            self.proj = ConvModule(
                prev_channels,
                self.channels,
                3,
                padding=1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=None)
        else:
            self.proj = None
        self.final_rcus = nn.Sequential(*[
            ResidualConvUnit(
                self.channels,
                conv_cfg=self.conv_cfg,
                norm_cfg=block_norm_cfg,
                act_cfg=self.act_cfg) for _ in range(num_final_rcus)
        ])

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        """Refined feature map at the resolution of the first input.

        Args:
            inputs (list[Tensor]): Multi-level backbone features.

        Returns:
            Tensor: Shape (N, self.channels, H_0, W_0).
        """
        inputs = self._transform_inputs(inputs)
        if self.input_dropout is not None:
            inputs = [
                self.input_dropout(x) if i in self.input_dropout_indices else x
                for i, x in enumerate(inputs)
            ]
        paths = [conv(x) for conv, x in zip(self.reduce_convs, inputs)]
        out = None
        for i in reversed(range(len(paths))):
            block_in = [paths[i]] if out is None else [paths[i], out]
            out = self.refine_blocks[i](block_in)
        if self.proj is not None:
            out = self.proj(out)
        return self.final_rcus(out)

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        """Forward function."""
        output = self._forward_feature(inputs)
        return self.cls_seg(output)
