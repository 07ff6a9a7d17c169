"""Two views of one image: shared geometry, independent photometry.

After :class:`PairedPhotometricViews`, ``results['img']`` is a list of views
(the layout of mmpretrain's ``MultiView``); view-aware transforms then say
what the views share, and :class:`PackViews` packs each view with the task's
own packer, so a sample's ``inputs`` is a list of ``(3, H, W)`` tensors, as
mmpretrain's ``MultiView`` + ``PackInputs`` give.
"""
from typing import List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmsimmm.registry import TRANSFORMS


def image_views(results: dict, transform: str) -> List[np.ndarray]:
    """``results['img']`` as a list of views (one view if it is an array)."""
    img = results.get('img')
    if isinstance(img, np.ndarray):
        return [img]
    if isinstance(img, (list, tuple)) and img and all(
            isinstance(v, np.ndarray) for v in img):
        return list(img)
    raise TypeError(f"{transform}: results['img'] must be an image array or "
                    f'a list of them, got {type(img).__name__}')


def store_views(results: dict, views: List[np.ndarray]) -> None:
    """Write views back in the layout they came in (array or list)."""
    results['img'] = views if isinstance(results['img'],
                                         (list, tuple)) else views[0]


@TRANSFORMS.register_module()
class PairedPhotometricViews(BaseTransform):
    """Split the (geometrically augmented) image into ``num_views`` views.

    Put it after the geometric transforms (resize, crop, flip), which the
    views therefore share; from here on ``results['img']`` is a list of
    ``num_views`` copies, and ``transforms`` (any single-image transforms,
    e.g. mmseg's ``PhotoMetricDistortion``) run on each view with their own
    random draws. Labels stay shared. Pack with :class:`PackViews`.

    In SMM the first view is the day view and the second is the one the
    darkener darkens (stage 2).

    Args:
        num_views: views to make (2 for SMM).
        transforms: transform configs applied to each view independently.
    """

    def __init__(self, num_views: int = 2,
                 transforms: Optional[Sequence[dict]] = None):
        if int(num_views) < 2:
            raise ValueError('PairedPhotometricViews: num_views must be >= 2, '
                             f'got {num_views}')
        self.num_views = int(num_views)
        self.transforms = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in (transforms or [])
        ]

    def transform(self, results: dict) -> dict:
        img = results.get('img')
        if not isinstance(img, np.ndarray):
            raise TypeError('PairedPhotometricViews: expects one image in '
                            f"results['img'], got {type(img).__name__} "
                            '(views already made?)')
        views = []
        for _ in range(self.num_views):
            view = dict(results, img=img.copy())
            for t in self.transforms:
                view = t(view)
                if view is None:
                    raise RuntimeError(
                        f'PairedPhotometricViews: {type(t).__name__} dropped '
                        'the sample; only per-image photometric transforms '
                        'belong here')
            views.append(view['img'])
        shapes = {v.shape[:2] for v in views}
        if len(shapes) > 1:
            raise ValueError('PairedPhotometricViews: the per-view transforms '
                             f'changed the image size ({sorted(shapes)}); '
                             'geometric transforms go before the views')
        results['img'] = views
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_views={self.num_views}, '
                f'transforms={self.transforms})')


@TRANSFORMS.register_module()
class PackViews(BaseTransform):
    """Pack every view with the task's packer (e.g. mmseg's
    ``PackSegInputs``): ``inputs`` becomes a list of the views' tensors (the
    layout of mmpretrain's ``MultiView`` + ``PackInputs``); ``data_samples``
    are the first view's (the views share labels and geometry).

    A sample with a single image is packed unchanged, so the same pipeline
    end works with and without views.

    Args:
        packer: config of the task's packing transform.
    """

    def __init__(self, packer: dict = dict(type='PackSegInputs')):
        self.packer = TRANSFORMS.build(packer) if isinstance(packer,
                                                             dict) else packer

    def transform(self, results: dict) -> dict:
        img = results.get('img')
        if isinstance(img, np.ndarray):
            return self.packer(results)
        views = image_views(results, 'PackViews')
        packed = [self.packer(dict(results, img=view)) for view in views]
        first = packed[0]
        first['inputs'] = [p['inputs'] for p in packed]
        return first

    def __repr__(self) -> str:
        return f'{type(self).__name__}(packer={self.packer})'

