"""tools/test.py --show-dir on the shipped demo configs (segmentation and
classification): one folder per test set, so the day and the night
rendering of a scene (same file name) are both kept."""
import glob
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope, init_default_scope

from mmsimmm.registry import MODELS
from data_trees import make_cityscapes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(autouse=True)
def runner_globals_restored():
    """Remove the MessageHub / DefaultScope instances the Runner makes."""
    before = {cls: set(cls._instance_dict)
              for cls in (MessageHub, DefaultScope)}
    yield
    for cls, names in before.items():
        for name in set(cls._instance_dict) - names:
            del cls._instance_dict[name]


def random_checkpoint(config, path, scope):
    cfg = Config.fromfile(osp.join(ROOT, config))
    init_default_scope(scope)
    torch.manual_seed(0)
    model = MODELS.build(
        dict(cfg.model, data_preprocessor=cfg.model.get(
            'data_preprocessor', cfg.get('data_preprocessor'))))
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def run_test_tool(*args):
    argv = sys.argv
    sys.argv = ['tools/test.py', *args]
    try:
        runpy.run_path(osp.join(ROOT, 'tools', 'test.py'),
                       run_name='__main__')
    finally:
        sys.argv = argv


def files(folder):
    return sorted(osp.relpath(p, folder) for p in glob.glob(
        osp.join(folder, '**', '*.png'), recursive=True))


def test_show_dir_on_the_street_demo_keeps_day_and_night(tmp_path):
    data = tmp_path / 'data'
    # the same scene names by day and by night (other pixels)
    make_cityscapes(str(data), num_train=0, num_val=2, size=(32, 64))
    make_cityscapes(str(data / 'night'), num_train=0, num_val=2,
                    size=(32, 64), seed=5)
    config = 'configs/demo/synthetic_streets_simmm.py'
    checkpoint = random_checkpoint(config, str(tmp_path / 'smm.pth'),
                                   'mmseg')
    show = str(tmp_path / 'show')
    run_test_tool(osp.join(ROOT, config), checkpoint, '--show-dir', show,
                  '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                  f'data_root={data}/')
    names = ['aachen/aachen_000000_000019_leftImg8bit.png',
             'aachen/aachen_000001_000019_leftImg8bit.png']
    assert files(osp.join(show, 'day')) == names
    assert files(osp.join(show, 'night')) == names
    for name in names:
        day = cv2.imread(osp.join(show, 'day', name))
        night = cv2.imread(osp.join(show, 'night', name))
        assert day.shape == night.shape == (32, 128, 3)  # label | prediction
        assert not np.array_equal(day, night)


def test_show_dir_on_the_classification_demo(tmp_path):
    pytest.importorskip('mmpretrain')
    from mmsimmm.datasets.synthetic_objects import generate_synthetic_objects
    data = tmp_path / 'data'
    generate_synthetic_objects(data, num_train=10, num_val=10, num_test=10,
                               size=(32, 32), seed=0)
    config = 'configs/demo/cls/objects_simmm.py'
    checkpoint = random_checkpoint(config, str(tmp_path / 'smm.pth'),
                                   'mmpretrain')
    show = str(tmp_path / 'show')
    run_test_tool(osp.join(ROOT, config), checkpoint, '--show-dir', show,
                  '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                  f'data_root={data}')
    day, night = files(osp.join(show, 'day')), files(osp.join(show, 'night'))
    expected = sorted(osp.relpath(p, data / 'test_day') for p in glob.glob(
        osp.join(str(data), 'test_day', '**', '*.*'), recursive=True))
    assert day == [osp.splitext(p)[0] + '.png' for p in expected]
    assert len(night) == len(day) > 0


def test_predictions_at_another_size_are_drawn_on_the_resized_image(
        tmp_path):
    """mmseg's keep-ratio test protocol: the model sees a resized image but
    predicts at the file's size; the drawing follows the prediction."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg.visualization import SegLocalVisualizer

    from mmsimmm.visualization import TestSetVisualizationHook
    visualizer = SegLocalVisualizer(name='show-dir-resize-test')
    visualizer.dataset_meta = dict(classes=('road', 'car'),
                                   palette=[[128, 64, 128], [0, 0, 142]])
    sample = SegDataSample(metainfo=dict(img_path='/x/city/a.png'))
    labels = torch.zeros(1, 60, 90, dtype=torch.long)
    labels[:, :, 45:] = 1
    sample.pred_sem_seg = PixelData(data=labels)
    image = torch.full((3, 40, 60), 128, dtype=torch.uint8)
    hook = TestSetVisualizationHook(out_dir=str(tmp_path))
    out_file = str(tmp_path / 'night' / 'city' / 'a.png')
    hook._draw(visualizer, image, sample, out_file)
    drawn = cv2.imread(out_file)
    assert drawn.shape == (60, 90, 3)
    # left half painted road (red 128), right half car (red 0); BGR file
    assert drawn[2, 2, 2] > drawn[2, 87, 2] + 50


def test_test_set_names_come_from_metric_prefixes():
    from types import SimpleNamespace

    from mmsimmm.visualization.test_set_visualization_hook import \
        test_set_names

    def evaluator(prefix):
        return SimpleNamespace(metrics=[SimpleNamespace(prefix=prefix)])

    assert test_set_names([evaluator('day/accuracy'),
                           evaluator('night/accuracy')]) == ['day', 'night']
    assert test_set_names([evaluator(None)]) == ['test']
    assert test_set_names([evaluator('a'), evaluator('a'),
                           evaluator(None)]) == ['a', 'a_1', 'set2']


def test_show_dir_on_the_video_demo(tmp_path):
    pytest.importorskip('mmaction')
    from mmsimmm.datasets.synthetic_clips import generate_synthetic_clips
    data = tmp_path / 'data'
    generate_synthetic_clips(data, num_train=6, num_test=6, size=(32, 32),
                             frames=8, seed=0)
    config = 'configs/demo/video/clips_simmm.py'
    checkpoint = random_checkpoint(config, str(tmp_path / 'smm.pth'),
                                   'mmaction')
    show = str(tmp_path / 'show')
    run_test_tool(osp.join(ROOT, config), checkpoint, '--show-dir', show,
                  '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                  f'data_root={data}')
    day, night = files(osp.join(show, 'day')), files(osp.join(show, 'night'))
    # the same clip names by day and by night, 8 frames each
    assert day == night and len(day) == 6 * 8
    clips = sorted({name.split('/frames_0/')[0] for name in day})
    videos = sorted(osp.splitext(osp.relpath(p, data / 'day' / 'videos'))[0]
                    for p in glob.glob(osp.join(str(data), 'day', 'videos',
                                                '**', '*.mp4'),
                                       recursive=True))
    assert clips == videos
