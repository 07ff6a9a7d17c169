"""Tiny Cityscapes, Dark Zurich and Nighttime Driving trees in the on-disk
layouts mmseg documents (docs/en/user_guides/2_dataset_prepare.md)."""
import os
import os.path as osp

import cv2
import numpy as np


def _write_pair(img_path, label_path, rng, size, brightness):
    h, w = size
    img = (rng.uniform(0, 255, (h, w, 3)) * brightness).astype(np.uint8)
    label = rng.integers(0, 19, (h, w)).astype(np.uint8)
    label[:2] = 255  # some void
    for path, array in ((img_path, img), (label_path, label)):
        os.makedirs(osp.dirname(path), exist_ok=True)
        assert cv2.imwrite(path, array), path


def make_cityscapes(root, num_train=4, num_val=2, size=(64, 128), seed=0):
    rng = np.random.default_rng(seed)
    for split, num in (('train', num_train), ('val', num_val)):
        for i in range(num):
            name = f'aachen_{i:06d}_000019'
            _write_pair(
                osp.join(root, 'leftImg8bit', split, 'aachen',
                         f'{name}_leftImg8bit.png'),
                osp.join(root, 'gtFine', split, 'aachen',
                         f'{name}_gtFine_labelTrainIds.png'), rng, size, 1.0)
    return root


def make_dark_zurich(root, num=2, size=(54, 96), seed=1):
    rng = np.random.default_rng(seed)
    for i in range(num):
        name = f'GOPR0356_frame_{i:06d}'
        _write_pair(
            osp.join(root, 'rgb_anon', 'val', 'night', 'GOPR0356',
                     f'{name}_rgb_anon.png'),
            osp.join(root, 'gt', 'val', 'night', 'GOPR0356',
                     f'{name}_gt_labelTrainIds.png'), rng, size, 0.2)
    return root


def make_night_driving(root, num=2, size=(54, 96), seed=2):
    rng = np.random.default_rng(seed)
    for i in range(num):
        name = f'0_frame_{i:04d}'
        _write_pair(
            osp.join(root, 'leftImg8bit', 'test', 'night',
                     f'{name}_leftImg8bit.png'),
            osp.join(root, 'gtCoarse_daytime_trainvaltest', 'test', 'night',
                     f'{name}_gtCoarse_labelTrainIds.png'), rng, size, 0.2)
    return root
