"""The reference's test protocol: score at a fixed resolution."""
from typing import Tuple

import mmcv
from mmcv.transforms import BaseTransform

from mmsimmm.registry import TRANSFORMS
from .augmentations import CV2_INTERPOLATION


@TRANSFORMS.register_module()
class ResizeForEvaluation(BaseTransform):
    """Stretch the image to ``scale`` (w, h), its labels by nearest
    neighbour, and score there.

    mmseg's protocol predicts on a resized image and scores at the file's
    resolution (``ori_shape``); the paper's segmentation numbers stretch
    Dark Zurich / Nighttime Driving (1920x1080) to 1024x512, resize the
    labels nearest and score at 1024x512. This transform sets ``ori_shape``
    to ``scale``, so mmseg's ``predict`` returns predictions at ``scale``
    and ``IoUMetric`` compares them with the resized labels. Put it after
    ``LoadAnnotations``.

    Args:
        scale: (width, height) of the evaluation.
        interpolation: of the image ('lanczos' in the reference).
    """

    def __init__(self,
                 scale: Tuple[int, int] = (1024, 512),
                 interpolation: str = 'bilinear'):
        if len(scale) != 2 or min(scale) < 1:
            raise ValueError('ResizeForEvaluation: scale must be (width, '
                             f'height) > 0, got {scale}')
        if interpolation not in CV2_INTERPOLATION:
            raise ValueError("ResizeForEvaluation: interpolation "
                             f"'{interpolation}' is not one of "
                             f'{sorted(CV2_INTERPOLATION)}')
        self.scale = (int(scale[0]), int(scale[1]))
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        results['img'] = mmcv.imresize(
            img, self.scale, interpolation=self.interpolation)
        for key in results.get('seg_fields', []):
            results[key] = mmcv.imresize(
                results[key], self.scale, interpolation='nearest')
        shape = results['img'].shape[:2]
        results['img_shape'] = shape
        results['ori_shape'] = shape
        results['scale_factor'] = (shape[1] / width, shape[0] / height)
        results['keep_ratio'] = False
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, '
                f"interpolation='{self.interpolation}')")
