# Copyright (c) OpenMMLab. All rights reserved.
import json
import os
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmsimmm.datasets import synthetic_streets
from mmsimmm.datasets.synthetic_streets import (IMG_SUFFIX, MARKER_NAME,
                                                SEG_SUFFIX,
                                                generate_synthetic_streets,
                                                render_day_scene, render_night)

SMALL = dict(num_train=6, num_val=3, size=(128, 256), seed=0)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic') / 'streets'
    return generate_synthetic_streets(root, **SMALL)


def relative_files(root):
    root = Path(root)
    return sorted(
        str(p.relative_to(root)) for p in root.rglob('*') if p.is_file())


def read_rgb(path):
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]


def read_label(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def pairs(root, prefix):
    """(image path, label path) pairs of one split, sorted by name."""
    imgs = sorted(Path(root, prefix['img_path']).rglob('*' + IMG_SUFFIX))
    return [(img,
             Path(root, prefix['seg_map_path'], img.parent.name,
                  img.name.replace(IMG_SUFFIX, SEG_SUFFIX))) for img in imgs]


def test_layout_and_counts(dataset):
    root, prefixes = dataset['root'], dataset['data_prefix']
    assert dataset['generated']
    assert dataset['num_train'] == 6 and dataset['num_val'] == 3
    expected = dict(train=6, val=3, night_val=3)
    for split, count in expected.items():
        split_pairs = pairs(root, prefixes[split])
        assert len(split_pairs) == count, split
        assert all(label.is_file() for _, label in split_pairs)
        segs = list(Path(root, prefixes[split]['seg_map_path']).rglob('*'))
        assert len([p for p in segs if p.is_file()]) == count
    day_names = [img.name for img, _ in pairs(root, prefixes['val'])]
    night_names = [img.name for img, _ in pairs(root, prefixes['night_val'])]
    assert day_names == night_names
    assert osp.isfile(osp.join(root, MARKER_NAME))


def test_images_and_labels(dataset):
    root = dataset['root']
    seen = set()
    for split in ('train', 'val', 'night_val'):
        for img_path, label_path in pairs(root, dataset['data_prefix'][split]):
            img, label = read_rgb(img_path), read_label(label_path)
            assert img.shape == (128, 256, 3)
            assert label.shape == (128, 256) and label.dtype == np.uint8
            classes = set(np.unique(label).tolist())
            assert classes <= set(range(19)) | {255}
            assert len(classes - {255}) >= 6
            seen |= classes
    # road, sidewalk, building, pole, sky and car appear in every scene.
    assert {0, 1, 2, 5, 10, 13} <= seen
    assert len(seen - {255}) >= 10
    # Night scenes share the labels of their day counterparts.
    for (_, day_label), (_, night_label) in zip(
            pairs(root, dataset['data_prefix']['val']),
            pairs(root, dataset['data_prefix']['night_val'])):
        assert day_label.read_bytes() == night_label.read_bytes()


def test_deterministic(dataset, tmp_path):
    again = generate_synthetic_streets(tmp_path / 'again', **SMALL)
    files = relative_files(dataset['root'])
    assert files == relative_files(again['root'])
    for name in files:
        assert Path(dataset['root'],
                    name).read_bytes() == Path(again['root'],
                                               name).read_bytes(), name

    other = generate_synthetic_streets(tmp_path / 'other',
                                       **dict(SMALL, num_val=0, seed=1))
    first = pairs(dataset['root'], dataset['data_prefix']['train'])[0][0]
    other_first = pairs(other['root'], other['data_prefix']['train'])[0][0]
    assert first.name == other_first.name
    assert first.read_bytes() != other_first.read_bytes()


def test_night_is_dark_but_lit(dataset):
    root, prefixes = dataset['root'], dataset['data_prefix']
    day = np.stack([read_rgb(p) for p, _ in pairs(root, prefixes['val'])])
    night = np.stack(
        [read_rgb(p) for p, _ in pairs(root, prefixes['night_val'])])
    assert night.mean() / day.mean() < 0.35
    for image in night:
        assert 0.04 < image.mean() / 255 < 0.2  # dark, not black
        assert (image > 200).any(-1).sum() >= 5  # light sources


def test_night_is_not_a_pixelwise_curve(dataset):
    """Equal day colours must map to many different night values.

    A per-pixel tone curve (like the quadratic curves the adaptation model
    applies) maps equal inputs to equal outputs; the night model adds noise
    and spatially varying light, so it does not.
    """
    root, prefixes = dataset['root'], dataset['data_prefix']
    for (day_path, _), (night_path, _) in zip(
            pairs(root, prefixes['val']), pairs(root, prefixes['night_val'])):
        day, night = read_rgb(day_path), read_rgb(night_path)
        colour_key = day.reshape(-1, 3).astype(np.int64) @ [1, 256, 65536]
        night_grey = night.reshape(-1, 3).mean(1)
        order = np.argsort(colour_key, kind='stable')
        keys, values = colour_key[order], night_grey[order]
        starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
        sizes = np.diff(np.r_[starts, len(keys)])
        spread = (np.maximum.reduceat(values, starts) -
                  np.minimum.reduceat(values, starts))[sizes >= 2]
        assert len(spread) > 100
        assert (spread > 0).mean() > 0.5  # sensor noise
        assert spread.max() > 60  # light pools: same surface, other light


def test_render_functions():
    day, label = render_day_scene(np.random.default_rng(3), (64, 96))
    assert day.shape == (64, 96, 3) and day.dtype == np.float32
    assert 0 <= day.min() and day.max() <= 1
    assert label.shape == (64, 96) and label.dtype == np.uint8
    day_u8 = np.round(day * 255).astype(np.uint8)
    night = render_night(day_u8, label, np.random.default_rng(4))
    assert night.shape == day_u8.shape and night.dtype == np.uint8
    np.testing.assert_array_equal(
        night, render_night(day_u8, label, np.random.default_rng(4)))
    with pytest.raises(ValueError, match='do not match'):
        render_night(day_u8, label[:-1], np.random.default_rng(4))


def test_marker_and_conflicts(tmp_path):
    root = tmp_path / 'streets'
    params = dict(num_train=2, num_val=1, size=(64, 128), seed=5)
    first = generate_synthetic_streets(root, **params)
    assert first['generated']
    with open(root / MARKER_NAME) as f:
        assert json.load(f)['num_train'] == 2
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob('*')}

    second = generate_synthetic_streets(root, **params)
    assert not second['generated']
    assert stamps == {p: p.stat().st_mtime_ns for p in root.rglob('*')}

    with pytest.raises(ValueError, match='num_train') as err:
        generate_synthetic_streets(root, **dict(params, num_train=3))
    assert str(root) in str(err.value)

    third = generate_synthetic_streets(
        root, **dict(params, num_train=3), overwrite=True)
    assert third['generated']
    assert len(list(root.rglob('*' + IMG_SUFFIX))) == 3 + 1 + 1
    # Nothing but the dataset is left next to it (no temporary trees).
    assert os.listdir(tmp_path) == ['streets']


def test_refuses_foreign_directory(tmp_path):
    (tmp_path / 'notes.txt').write_text('not a dataset')
    with pytest.raises(FileExistsError):
        generate_synthetic_streets(tmp_path, num_train=1, num_val=0)
    assert os.listdir(tmp_path) == ['notes.txt']


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real_render = synthetic_streets.render_day_scene

    def failing_render(rng, size):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_render(rng, size)

    monkeypatch.setattr(synthetic_streets, 'render_day_scene', failing_render)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic_streets(
            tmp_path / 'streets', num_train=4, num_val=0, size=(64, 128))
    assert os.listdir(tmp_path) == []


def test_cli(tmp_path, capsys):
    root = tmp_path / 'cli'
    synthetic_streets.main([
        str(root), '--num-train', '2', '--num-val', '1', '--size', '64', '128',
        '--seed', '3'
    ])
    summary = json.loads(capsys.readouterr().out)
    assert summary['root'] == str(root) and summary['seed'] == 3
    assert len(list(root.rglob('*' + SEG_SUFFIX))) == 2 + 1 + 1


def test_read_by_mmseg_cityscapes(dataset):
    pytest.importorskip('mmseg')
    from mmengine.registry import DefaultScope
    from mmseg.datasets import CityscapesDataset
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    with DefaultScope.overwrite_default_scope('mmseg'):
        train_set = CityscapesDataset(
            data_root=dataset['root'],
            data_prefix=dataset['data_prefix']['train'],
            pipeline=pipeline)
    assert len(train_set) == 6
    sample = train_set[0]
    assert tuple(sample['inputs'].shape) == (3, 128, 256)
    seg = sample['data_samples'].gt_sem_seg.data
    assert tuple(seg.shape) == (1, 128, 256)
    assert set(seg.unique().tolist()) <= set(range(19)) | {255}
