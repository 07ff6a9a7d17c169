"""Every shipped config loads, builds its model, and reads data laid out as
mmseg documents."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from data_trees import make_cityscapes, make_dark_zurich, make_night_driving

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_are_found():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS}
    assert {'darkzurich_simmm.py', 'darkzurich_day_baseline.py',
            'nightdriving_simmm.py', 'deeplabv3plus_r50_simmm.py',
            'demo/synthetic_streets_simmm.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_builds_model(path):
    from mmengine.registry import MODELS
    cfg = Config.fromfile(path)
    text = cfg.pretty_text.replace("'SyncBN'", "'BN'")
    cfg = Config.fromstring(text, '.py')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    if cfg.model.type == 'mmsimmm.SimMinMax':
        assert set(model.optim_parts) == {'darkener', 'task'}
        assert cfg.train_cfg.type == 'mmsimmm.TwoPhaseTrainLoop'
        assert set(cfg.param_scheduler) == {'darkener', 'task'}


def test_paper_setting_reads_real_layouts(tmp_path):
    data = tmp_path / 'data'
    make_cityscapes(str(data / 'cityscapes'), num_train=3)
    make_dark_zurich(str(data / 'dark_zurich'), num=2)
    make_night_driving(str(data / 'NighttimeDrivingTest'), num=1)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'darkzurich_simmm.py'))
    for loader in [cfg.train_dataloader] + list(cfg.val_dataloader):
        root = loader.dataset.data_root
        loader.dataset.data_root = str(tmp_path / root)
        loader.num_workers = 0
        loader.persistent_workers = False
    with DefaultScope.overwrite_default_scope('mmseg'):
        runner = Runner.build_dataloader(cfg.train_dataloader)
        assert len(runner.dataset) == 3
        sizes = [len(Runner.build_dataloader(v).dataset)
                 for v in cfg.val_dataloader]
    assert sizes == [2, 1]
    batch = next(iter(runner))
    # stage 2: two views (shared crop) per image
    views = batch['inputs']
    assert len(views) == 2
    assert [tuple(v[0].shape) for v in views] == [(3, 384, 768)] * 2
