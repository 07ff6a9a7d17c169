"""tools/train.py and tools/test.py never give a wrong number silently and
fail with one line: SMM checkpoints under a plain task config, checkpoints
of another model, misspelt types, data paths, command-line knobs that
re-derive what depends on them, unread options, ``mmsimmm::`` configs."""
import importlib.util
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import tiny_smm_cfg
from data_trees import make_cityscapes, make_dark_zurich, make_night_driving
from test_train_loop import smm_config

from mmsimmm.utils import config_utils

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'mmsimmm_tool_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name, monkeypatch, *argv):
    monkeypatch.setattr(sys, 'argv', [f'{name}.py', *map(str, argv)])
    return load_tool(name).main()


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(root / 'cityscapes'), 2, 0)
    make_dark_zurich(str(root / 'dark_zurich'), 2)
    make_night_driving(str(root / 'NighttimeDrivingTest'), 1)
    return root


def build(model_cfg):
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def plain_task_cfg(**kwargs):
    cfg = tiny_smm_cfg().task_model
    cfg.data_preprocessor.size = (64, 128)
    cfg.update(kwargs)
    return cfg


@pytest.fixture(scope='module')
def smm_checkpoint(tmp_path_factory):
    """An SMM checkpoint whose task weights differ from any fresh init."""
    torch.manual_seed(123)
    model_cfg = tiny_smm_cfg()
    model_cfg.task_model.data_preprocessor.size = (64, 128)
    model_cfg.pop('seed')
    smm = build(model_cfg)
    with torch.no_grad():
        smm.task_model.decode_head.conv_seg.bias.copy_(
            torch.linspace(-1, 1, 19))
    path = str(tmp_path_factory.mktemp('ckpt') / 'smm.pth')
    torch.save(dict(state_dict=smm.state_dict(), meta=dict()), path)
    return path, smm


def dump_config(cfg, path):
    cfg.dump(str(path))
    return str(path)


def test_plain_task_model_takes_the_task_weights_of_an_smm_checkpoint(
        smm_checkpoint):
    path, smm = smm_checkpoint
    plain = build(plain_task_cfg())
    config_utils.load_checkpoint_strictly(plain, path)
    for key, value in smm.task_model.state_dict().items():
        torch.testing.assert_close(plain.state_dict()[key], value, msg=key)
    # an SMM model loads it as a whole (the darkener too)
    model_cfg = tiny_smm_cfg()
    model_cfg.task_model.data_preprocessor.size = (64, 128)
    other = build(model_cfg)
    config_utils.load_checkpoint_strictly(other, path)
    for key, value in smm.state_dict().items():
        torch.testing.assert_close(other.state_dict()[key], value, msg=key)


def test_tools_test_plain_config_smm_checkpoint_same_predictions(
        data_root, smm_checkpoint, tmp_path, monkeypatch):
    path, _ = smm_checkpoint
    smm_cfg = smm_config(data_root, tmp_path / 'smm')
    smm_file = dump_config(smm_cfg, tmp_path / 'smm_tiny.py')
    plain_cfg = smm_config(data_root, tmp_path / 'plain')
    plain_cfg.model = plain_task_cfg()
    plain_file = dump_config(plain_cfg, tmp_path / 'plain_tiny.py')
    predictions = {}
    for name, config in (('smm', smm_file), ('plain', plain_file)):
        run_tool('test', monkeypatch, config, path, '--work-dir',
                 tmp_path / name, '--out', tmp_path / f'{name}.pkl',
                 '--cfg-options', f'experiment_name=trust_test_{name}')
        with open(tmp_path / f'{name}.0.pkl', 'rb') as f:
            predictions[name] = [r['pred_sem_seg']['data'] for r in
                                 pickle.load(f)]
    # the same weights evaluated (an unloaded, freshly initialised plain
    # model, what the tool evaluated before, predicts otherwise)
    assert len(predictions['plain']) == 2
    for a, b in zip(predictions['smm'], predictions['plain']):
        assert torch.equal(a, b)


def test_checkpoint_of_another_model_is_refused_in_one_line(
        smm_checkpoint, tmp_path):
    path, _ = smm_checkpoint
    wider = build(plain_task_cfg(
        decode_head=dict(plain_task_cfg().decode_head, channels=32)))
    with pytest.raises(SystemExit) as error:
        config_utils.load_checkpoint_strictly(wider, path)
    line = str(error.value)
    assert '\n' not in line and line.startswith(f'{path}: not a checkpoint')
    assert '7 of other shapes' in line or 'of other shapes' in line
    # a checkpoint holding part of the model (here: the backbone)
    partial = tmp_path / 'backbone_only.pth'
    plain = build(plain_task_cfg())
    torch.save({k: v for k, v in plain.state_dict().items()
                if k.startswith('backbone.')}, partial)
    with pytest.raises(SystemExit, match=r"weights missing \(first: "
                       r"'decode_head\.") as error:
        config_utils.load_checkpoint_strictly(plain, str(partial))
    # training: an SMM checkpoint is no load_from of a plain model
    with pytest.raises(SystemExit, match='tools/export_task_model.py'):
        config_utils.fit_state_dict(
            plain, config_utils.read_state_dict(path), path,
            for_training=True)


def test_smm_model_takes_a_plain_task_checkpoint(tmp_path):
    plain = build(plain_task_cfg())
    path = str(tmp_path / 'day.pth')
    torch.save(dict(state_dict=plain.state_dict()), path)
    model_cfg = tiny_smm_cfg()
    model_cfg.task_model.data_preprocessor.size = (64, 128)
    smm = build(model_cfg)
    config_utils.load_checkpoint_strictly(smm, path)
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(smm.task_model.state_dict()[key], value)


def test_misspelt_type_names_the_closest(data_root, tmp_path):
    cfg = smm_config(data_root, tmp_path)
    cfg.model.task_model.backbone.type = 'ResNetv1c'
    config = dump_config(cfg, tmp_path / 'typo.py')
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"{config}: type 'ResNetv1c' is not in the mmseg::model registry; "
        "did you mean 'ResNetV1c'?")


def test_registry_error_lines():
    explain = config_utils.explain_registry_error
    error = KeyError('class `SimMinMax` in mmsimmm/models/x.py: '
                     'BYOLProjecter is not in the mmseg::model registry. '
                     'Please check whether ...')
    assert explain(error, 'c.py') == (
        "c.py: type 'BYOLProjecter' is not in the mmseg::model registry; "
        "did you mean 'mmsimmm.BYOLProjector'?")
    error = KeyError('mmsimmm.TwoPhaseTrainLop is not in the mmsimmm::loop '
                     'registry. Please check')
    assert explain(error, 'c.py').endswith(
        "did you mean 'mmsimmm.TwoPhaseTrainLoop'?")
    assert explain(KeyError('darkener'), 'c.py') is None
    with pytest.raises(KeyError, match='darkener'):  # others pass through
        with config_utils.one_line_errors('c.py'):
            raise KeyError('darkener')


def test_tools_test_missing_data_and_empty_split(data_root, smm_checkpoint,
                                                 tmp_path, monkeypatch):
    path, _ = smm_checkpoint
    cfg = smm_config(data_root, tmp_path)
    cfg.test_dataloader[1].dataset.data_root = str(tmp_path / 'nowhere')
    config = dump_config(cfg, tmp_path / 'missing.py')
    with pytest.raises(SystemExit, match='test_dataloader: data path not '
                       f'found: {tmp_path}/nowhere/leftImg8bit/test/night'):
        run_tool('test', monkeypatch, config, path)
    empty = tmp_path / 'empty'
    (empty / 'leftImg8bit' / 'test' / 'night').mkdir(parents=True)
    (empty / 'gtCoarse_daytime_trainvaltest' / 'test' / 'night').mkdir(
        parents=True)
    cfg.test_dataloader[1].dataset.data_root = str(empty)
    config = dump_config(cfg, tmp_path / 'empty.py')
    with pytest.raises(SystemExit, match='holds no files'):
        run_tool('test', monkeypatch, config, path)


# ----------------------------------------------------------- cfg options
def parse_train_args(monkeypatch, *argv):
    monkeypatch.setattr(sys, 'argv', ['train.py', *argv])
    return load_tool('train').parse_args()


def test_top_level_knobs_rederive_what_depends_on_them(monkeypatch):
    config = osp.join(ROOT, 'configs', 'demo', 'synthetic_streets_simmm.py')
    args = parse_train_args(monkeypatch, config, '--cfg-options',
                            'darken_iters=3', 'adapt_iters=5')
    cfg = config_utils.load_config(args)
    assert (cfg.darken_iters, cfg.adapt_iters) == (3, 5)
    assert (cfg.train_cfg.darken_iters, cfg.train_cfg.adapt_iters) == (3, 5)
    assert cfg.train_cfg.val_interval == 8
    task = cfg.param_scheduler.task[0]
    assert (task.begin, task.end) == (3, 8)
    assert cfg.default_hooks.checkpoint.interval == 8
    assert cfg.filename == config
    # a knob of a base file (the baseline's day iterations)
    base = osp.join(ROOT, 'configs', 'demo', 'synthetic_streets_baseline.py')
    cfg = config_utils.load_config(parse_train_args(
        monkeypatch, base, '--cfg-options', 'pretrain_iters=7'))
    assert cfg.train_cfg.max_iters == 7 + cfg.adapt_iters
    assert cfg.param_scheduler[0].end == 7 + cfg.adapt_iters
    # dotted keys still merge as mmengine does, after the knobs
    cfg = config_utils.load_config(parse_train_args(
        monkeypatch, config, '--cfg-options', 'darken_iters=3',
        'train_cfg.darken_iters=4'))
    assert cfg.train_cfg.darken_iters == 4 and cfg.darken_iters == 3


def test_unread_options_are_warned_one_line_each(monkeypatch):
    config = osp.join(ROOT, 'configs', 'demo', 'synthetic_streets_simmm.py')
    logged = []
    monkeypatch.setattr(config_utils, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    config_utils.load_config(parse_train_args(
        monkeypatch, config, '--cfg-options', 'foo.bar=1',
        'model.darkener.scale_factr=2', 'train_cfg.val_interval=5',
        'resume=True', 'val_dataloader.1.batch_size=2'))
    assert logged == [
        f'--cfg-options {key}: {config} has no such key, so nothing may '
        'read it (misspelt?)'
        for key in ('foo.bar', 'model.darkener.scale_factr')
    ]


# ---------------------------------------------------------- mmsimmm:: paths
def test_package_config_paths(tmp_path):
    from mmengine.registry import MODELS
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['mmsimmm::demo/synthetic_streets_simmm.py']\n"
                     'darken_iters = 2\n')
    cfg = Config.fromfile(str(child))
    assert cfg.model.type == 'mmsimmm.SimMinMax'
    # no scope stamped on the base's components: they keep mmseg's
    assert '_scope_' not in cfg.model and cfg.default_scope == 'mmseg'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    assert type(model.task_model).__name__ == 'EncoderDecoder'
    # configs at the top of configs/ too
    child.write_text("_base_ = ['mmsimmm::darkzurich_simmm.py']\n")
    assert Config.fromfile(str(child)).train_cfg.type == \
        'mmsimmm.TwoPhaseTrainLoop'
    child.write_text("_base_ = ['mmsimmm::demo/nope.py']\n")
    with pytest.raises(FileNotFoundError,
                       match=r'base config mmsimmm::demo/nope.py not found'):
        Config.fromfile(str(child))
    # other packages' paths are mmengine's as before
    child.write_text("_base_ = ['mmseg::_base_/default_runtime.py']\n")
    assert Config.fromfile(str(child)).default_scope == 'mmseg'
