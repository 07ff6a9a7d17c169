"""The shipped CODaN configs end to end on a tiny tree in CODaN's on-disk
layout, through the real tools: tools/train.py trains the day baseline
(mmpretrain, epoch-based) and SMM (both stages) from its checkpoint,
tools/test.py reports test_day and test_night, and tools/export_task_model.py
writes a plain mmpretrain checkpoint that loads strictly."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from test_codan_dataset import make_codan
from tool_runs import (ROOT, assert_stages_move_their_own_parts,
                       export_plain_checkpoint, finish_toy_config,
                       run_tool, shrink_config, state, train_day_then_smm)
from tool_runs import runner_globals_restored  # noqa: F401 (autouse)

pytest.importorskip('mmpretrain')

SIZE = 32


def _toy_value(node, key, value):
    return SIZE if key in ('scale', 'crop_size') and value == 224 else None


def shrink(node):
    """The config at SIZE x SIZE pixels (224 in the paper's pipelines),
    without worker processes, batch 4."""
    shrink_config(node, _toy_value, 4)


def tiny(config, data_root, work_dir):
    """A shipped config on the tiny tree with a narrow ResNet-18 (8 base
    channels: 64 at layer4)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    shrink(cfg._cfg_dict)
    loaders = [cfg.train_dataloader, cfg.val_dataloader,
               *cfg.test_dataloader]
    for loader in loaders:
        loader.dataset.data_root = data_root
    task = cfg.model.get('task_model', cfg.model)
    task.backbone.base_channels = 8
    task.head.in_channels = 64
    return finish_toy_config(cfg, work_dir)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('codan')
    data_root = make_codan(tmp / 'data' / 'codan', per_class=2, size=40)
    return train_day_then_smm(
        tmp, tiny('codan_day_baseline.py', data_root, str(tmp / 'baseline')),
        tiny('codan_simmm.py', data_root, str(tmp / 'simmm')))


def test_two_stages_move_their_own_parts(trained):
    assert_stages_move_their_own_parts(
        trained, lambda key: 'bn' not in key and 'weight' in key)


def test_tools_test_reports_day_and_night(trained):
    metrics = run_tool('test.py', trained['smm_file'], trained['final'])
    assert set(metrics) == {'day/accuracy/top1', 'night/accuracy/top1'}
    assert all(0 <= v <= 100 for v in metrics.values())


def test_export_gives_a_plain_mmpretrain_checkpoint(trained):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(trained['baseline_file'])
    out = export_plain_checkpoint(
        trained, MODELS, 'mmpretrain',
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    # and mmpretrain's own test of the baseline config accepts it
    metrics = run_tool('test.py', trained['baseline_file'], out)
    assert set(metrics) == {'day/accuracy/top1', 'night/accuracy/top1'}


def test_smm_resumes_from_a_checkpoint_saved_during_training(trained):
    """mmpretrain configs count checkpoints in epochs; the SMM configs save
    by iteration, and such a checkpoint resumes in stage 2's place."""
    work_dir = str(trained['tmp'] / 'resumed')
    run_tool('train.py', trained['smm_file'], '--resume', trained['stage1'],
             '--work-dir', work_dir)
    resumed = torch.load(osp.join(work_dir, 'iter_4.pth'),
                         map_location='cpu')
    assert resumed['meta']['iter'] == 4
    stage1 = state(trained['stage1'])
    # D kept its stage-1 weights through the resumed stage 2
    for key, value in resumed['state_dict'].items():
        if key.startswith('darkener.'):
            torch.testing.assert_close(value, stage1[key])


def test_train_stops_in_one_line_on_a_missing_split(tmp_path, monkeypatch):
    """From a clean clone without data, tools/train.py names the path."""
    monkeypatch.chdir(tmp_path)
    config = osp.join(ROOT, 'configs', 'codan_simmm.py')
    with pytest.raises(SystemExit, match='train_dataloader: data path not '
                       'found: data/codan/train '):
        run_tool('train.py', config)
    make_codan(tmp_path / 'data' / 'codan', splits=('train', 'test_day'))
    (tmp_path / 'data' / 'codan' / 'val').mkdir()
    with pytest.raises(SystemExit, match='val_dataloader: data path holds '
                       'no files: data/codan/val$'):
        run_tool('train.py', config)
    make_codan(tmp_path / 'data' / 'codan', splits=('val', ))
    # with the data in place, the missing day checkpoint is named
    with pytest.raises(SystemExit, match='load_from: checkpoint not found: '
                       'work_dirs/codan_day_baseline/epoch_90.pth'):
        run_tool('train.py', config)
