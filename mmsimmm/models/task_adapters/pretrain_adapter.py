"""Task adapter for mmpretrain ``ImageClassifier``-style models."""
from mmsimmm.registry import TASK_ADAPTERS
from .base_adapter import BaseTaskAdapter


@TASK_ADAPTERS.register_module()
class MMPretrainTaskAdapter(BaseTaskAdapter):
    """Classification as in the paper: L_D^sim on the last backbone stage
    (ResNet-18 ``layer4``), BYOL on the pooled feature of the neck, the EMA
    target copying backbone + neck. Use a pooled projector
    (``BYOLProjector(in_channels=512)``)."""
    channel_conversion_attrs = ('to_rgb', )
    task_models = ('mmpretrain', )

    def __init__(self,
                 darken_taps=('backbone', ),
                 online_tap='neck',
                 encoder_modules=('backbone', 'neck'),
                 feature_forward='extract_feat',
                 input_channel_order=None):
        super().__init__(darken_taps, online_tap, encoder_modules,
                         feature_forward, input_channel_order)
