from .darkening_losses import (ColorConsistencyLoss, ExposureLoss,
                               FlexibilityLoss, LooseTVLoss)
from .similarity_losses import (BYOLLoss, FeatureSimilarityLoss,
                                feature_similarity)

__all__ = [
    'LooseTVLoss', 'ColorConsistencyLoss', 'ExposureLoss', 'FlexibilityLoss',
    'FeatureSimilarityLoss', 'BYOLLoss', 'feature_similarity'
]
