# Copyright (c) OpenMMLab. All rights reserved.
"""CODaN (Common Objects Day and Night, Lengyel et al., ICCV 2021) for
mmpretrain.

Get it from https://github.com/Attila94/CODaN (the ``data/`` folder holds
``codan_{train,val,test_day,test_night}.tar.bz2``; the training archive comes
in three parts to concatenate first) and unpack it so that::

    data/codan/train/<class>/*.jpg        10,000 day images
    data/codan/val/<class>/*.jpg             500 day images
    data/codan/test_day/<class>/*.jpg      2,500 day images
    data/codan/test_night/<class>/*.jpg    2,500 night images

with the 10 class folders ``Bicycle Car Motorbike Bus Boat Cat Dog Bottle Cup
Chair``.
"""
import os
import os.path as osp

from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.custom import get_samples

from mmsimmm.registry import DATASETS

# CODaN's own label order (its loader's class list), not the sorted one, so
# label indices agree with models trained with the reference code.
CODAN_CLASSES = ('Bicycle', 'Car', 'Motorbike', 'Bus', 'Boat', 'Cat', 'Dog',
                 'Bottle', 'Cup', 'Chair')


@DATASETS.register_module()
class CODaNDataset(CustomDataset):
    """One split of CODaN: ``data_prefix`` is the split folder (``'train'``,
    ``'val'``, ``'test_day'`` or ``'test_night'``), holding one folder per
    class.

    Unlike :class:`mmpretrain.datasets.CustomDataset`, labels follow the
    order of ``classes`` (not the sorted folder names), every class needs
    its folder, and a missing or empty split or class folder raises one
    line naming the path. The same layout with other class names (e.g. the
    synthetic objects of :mod:`mmsimmm.datasets.synthetic_objects`) works
    with ``metainfo=dict(classes=...)``.
    """
    METAINFO = dict(classes=CODAN_CLASSES)

    def _find_samples(self):
        root = self.img_prefix
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'{type(self).__name__}: split folder not found: {root}')
        if not os.listdir(root):
            raise FileNotFoundError(
                f'{type(self).__name__}: split folder is empty: {root}')
        folder_to_idx = {name: i for i, name in enumerate(self.CLASSES)}
        missing = [c for c in self.CLASSES if not osp.isdir(osp.join(root, c))]
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: no folder for class '
                f"'{missing[0]}' in {root} (expected one folder per class: "
                f'{", ".join(self.CLASSES)})')
        samples, empty = get_samples(
            root, folder_to_idx, is_valid_file=self.is_valid_file)
        if empty:
            first = sorted(empty, key=self.CLASSES.index)[0]
            raise FileNotFoundError(
                f'{type(self).__name__}: no images '
                f'({", ".join(sorted(self.extensions))}) in '
                f'{osp.join(root, first)}')
        self.folder_to_idx = folder_to_idx
        return samples
