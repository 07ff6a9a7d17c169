"""Every baseline config of the demo street task (configs/demo/baselines)
builds its model and pipelines and trains + tests a couple of iterations on a
tiny Cityscapes-layout tree, starting from a day checkpoint like the rows of
the night table."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.nn.modules.batchnorm import _BatchNorm

from data_trees import make_cityscapes
from mmsimmm.models.baselines import CIConvBackbone, MixStyle

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINES = osp.join(ROOT, 'configs', 'demo', 'baselines')
NAMES = ['streets_erm', 'streets_darken_brightness',
         'streets_darken_gamma_noise', 'streets_adabn', 'streets_ciconv',
         'streets_mixstyle', 'streets_exposure_norm']


@pytest.fixture(scope='module')
def tiny_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('streets')
    make_cityscapes(str(root), num_train=4, num_val=2, size=(64, 128))
    make_cityscapes(str(root / 'night'), num_train=0, num_val=3,
                    size=(64, 128), seed=5)
    return str(root)


@pytest.fixture(scope='module')
def day_checkpoint(tmp_path_factory):
    """A checkpoint of the plain day model, as tools/demo.py saves it."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'demo', 'synthetic_streets_baseline.py'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        from mmseg.registry import MODELS
        model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'day.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, model.state_dict()


def _loaders(cfg):
    loaders = [cfg.train_dataloader, *cfg.test_dataloader]
    loaders += [hook.dataloader for hook in cfg.get('custom_hooks', [])
                if 'dataloader' in hook]
    return loaders


def _tiny_run_config(name, tiny_tree, tmp_path, load_from):
    cfg = Config.fromfile(osp.join(BASELINES, f'{name}.py'))
    for loader in _loaders(cfg):
        loader.dataset.data_root = tiny_tree
        loader.batch_size = 2
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        by_epoch=False, interval=2)
    if cfg.get('load_from'):
        cfg.load_from = load_from
    return cfg


def _bn_stats(model):
    return {n: m.running_mean.clone() for n, m in model.named_modules()
            if isinstance(m, _BatchNorm)}


def test_all_baseline_configs_are_tested():
    found = {osp.basename(p)[:-3]
             for p in glob.glob(osp.join(BASELINES, '*.py'))}
    assert found == set(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_baseline_config_trains_and_tests(name, tiny_tree, tmp_path,
                                          day_checkpoint):
    ckpt, day_state = day_checkpoint
    cfg = _tiny_run_config(name, tiny_tree, tmp_path, ckpt)
    fine_tuned = name != 'streets_ciconv'
    assert bool(cfg.get('load_from')) == fine_tuned
    runner = Runner.from_cfg(cfg)
    model = runner.model
    pipeline = [type(t).__name__ for t in
                runner.train_dataloader.dataset.pipeline.transforms]
    if 'darken' in name:
        darken = runner.train_dataloader.dataset.pipeline.transforms[-2]
        assert type(darken).__name__ == 'RandomDarken'
        assert darken.prob == 0.5
        assert darken.mode == ('gamma' if 'gamma' in name else 'brightness')
        assert (darken.noise_std_range == (0.0, 0.05)) == ('noise' in name)
    else:
        assert 'RandomDarken' not in pipeline
    if fine_tuned:  # every fine-tuned row loads the plain day checkpoint
        runner.load_checkpoint(ckpt, strict=True)
        for key, value in model.state_dict().items():
            torch.testing.assert_close(value, day_state[key])
    if name == 'streets_mixstyle':
        assert isinstance(model.backbone.mixstyle_layer1, MixStyle)
        assert isinstance(model.backbone.mixstyle_layer2, MixStyle)
    if name == 'streets_ciconv':
        assert isinstance(model.backbone, CIConvBackbone)
        assert model.backbone.backbone.stem[0].in_channels == 1
        scale_before = model.backbone.ciconv.scale.item()

    runner.train()
    if name == 'streets_ciconv':  # the scale is trained with the rest
        assert model.backbone.ciconv.scale.item() != scale_before

    stats_before = _bn_stats(model)
    metrics = runner.test()
    assert {'day/mIoU', 'night/mIoU'} <= set(metrics)
    changed = {n for n, v in _bn_stats(model).items()
               if not torch.equal(v, stats_before[n])}
    if name == 'streets_adabn':  # re-estimated on the 3 night images
        assert changed == set(stats_before)
        assert model.backbone.stem[1].num_batches_tracked.item() == 2
    else:
        assert not changed
    test_pipeline = [type(t).__name__ for t in
                     runner.test_loop.dataloaders[1].dataset.pipeline
                     .transforms]
    assert ('ExposureNormalize' in test_pipeline) == (
        name == 'streets_exposure_norm')
