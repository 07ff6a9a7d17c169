from .place_recognition import (PlaceRecognitionMetric, average_precision,
                                place_recognition_scores)

__all__ = [
    'PlaceRecognitionMetric', 'average_precision', 'place_recognition_scores'
]
