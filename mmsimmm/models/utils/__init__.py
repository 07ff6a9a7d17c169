from .feature_recorder import FeatureRecorder
from .night_exposure import NightExposureSampler

__all__ = ['FeatureRecorder', 'NightExposureSampler']
