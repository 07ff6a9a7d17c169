from .action_adapter import MMActionTaskAdapter
from .base_adapter import BaseTaskAdapter, flatten_features, unwrap
from .pretrain_adapter import MMPretrainTaskAdapter
from .seg_adapter import MMSegTaskAdapter

__all__ = [
    'BaseTaskAdapter', 'MMSegTaskAdapter', 'MMPretrainTaskAdapter',
    'MMActionTaskAdapter',
    'flatten_features', 'unwrap'
]
