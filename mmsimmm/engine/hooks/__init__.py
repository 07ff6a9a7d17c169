# Copyright (c) OpenMMLab. All rights reserved.
from mmsimmm.visualization import TestSetVisualizationHook
from .adabn_hook import AdaBNHook, reestimate_bn_statistics  # noqa: F401
from .darken_visualization_hook import DarkenVisualizationHook
from .finite_loss_hook import FiniteLossHook
from .plain_message_hub_hook import (PlainMessageHubHook,
                                     make_checkpoint_plain,
                                     message_hub_from_plain,
                                     message_hub_to_plain)
from .tuple_mining_hook import TupleMiningHook

__all__ = [
    'AdaBNHook', 'reestimate_bn_statistics', 'FiniteLossHook',
    'PlainMessageHubHook', 'make_checkpoint_plain', 'message_hub_to_plain',
    'message_hub_from_plain', 'DarkenVisualizationHook',
    'TestSetVisualizationHook', 'TupleMiningHook'
]
