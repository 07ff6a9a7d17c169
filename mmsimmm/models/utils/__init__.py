from .feature_recorder import FeatureRecorder
from .night_exposure import NightExposureSampler
from .sensor_noise import LowLightSensorNoise, quantize_8bit

__all__ = [
    'FeatureRecorder', 'NightExposureSampler', 'LowLightSensorNoise',
    'quantize_8bit'
]
