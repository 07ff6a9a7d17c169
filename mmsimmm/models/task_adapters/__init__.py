from .base_adapter import BaseTaskAdapter, flatten_features, unwrap
from .seg_adapter import MMSegTaskAdapter

__all__ = ['BaseTaskAdapter', 'MMSegTaskAdapter', 'flatten_features', 'unwrap']
