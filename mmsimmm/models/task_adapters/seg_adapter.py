"""Task adapter for mmsegmentation ``EncoderDecoder``-style segmentors."""
from mmsimmm.registry import TASK_ADAPTERS
from .base_adapter import BaseTaskAdapter


@TASK_ADAPTERS.register_module()
class MMSegTaskAdapter(BaseTaskAdapter):
    """Taps the 4 backbone stages for L_D^sim and for the dense BYOL branches
    (one projector per stage), as the paper does for segmentation. The BYOL
    encoder is the backbone alone, so a decode head or neck is not copied
    into the EMA target."""
    channel_conversion_attrs = ('channel_conversion', '_channel_conversion')
    task_models = ('mmseg', )

