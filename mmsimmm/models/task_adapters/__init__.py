from .action_adapter import MMActionTaskAdapter
from .base_adapter import BaseTaskAdapter, flatten_features, unwrap
from .pretrain_adapter import MMPretrainTaskAdapter
from .retrieval_adapter import MMRetrievalTaskAdapter
from .seg_adapter import MMSegTaskAdapter

__all__ = [
    'BaseTaskAdapter', 'MMSegTaskAdapter', 'MMPretrainTaskAdapter',
    'MMActionTaskAdapter', 'MMRetrievalTaskAdapter',
    'flatten_features', 'unwrap'
]
