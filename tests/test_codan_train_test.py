"""The shipped CODaN configs end to end on a tiny tree in CODaN's on-disk
layout, through the real tools: tools/train.py trains the day baseline
(mmpretrain, epoch-based) and SMM (both stages) from its checkpoint,
tools/test.py reports test_day and test_night, and tools/export_task_model.py
writes a plain mmpretrain checkpoint that loads strictly."""
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from test_codan_dataset import make_codan

pytest.importorskip('mmpretrain')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SIZE = 32


@pytest.fixture(scope='module', autouse=True)
def runner_globals_restored():
    """A Runner makes the newest MessageHub and DefaultScope, which later
    tests would read as the current ones (e.g. the phase a unit test
    publishes); remove those made in this module afterwards."""
    from mmengine.logging import MessageHub
    before = {
        cls: set(cls._instance_dict)
        for cls in (MessageHub, DefaultScope)
    }
    yield
    for cls, names in before.items():
        for name in set(cls._instance_dict) - names:
            del cls._instance_dict[name]


def shrink(node):
    """The config at SIZE x SIZE pixels (224 in the paper's pipelines),
    without worker processes, batch 4."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('scale', 'crop_size') and value == 224:
                node[key] = SIZE
            elif key == 'batch_size':
                node[key] = 4
            elif key == 'num_workers':
                node[key] = 0
            elif key == 'persistent_workers':
                node[key] = False
            else:
                shrink(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            shrink(item)


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
    if 'projector' in cfg.model:
        cfg.model.projector.in_channels = 64
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def run_tool(tool, *args):
    """tools/<tool> as a user runs it, in this process (the Runner's test
    metrics are returned)."""
    metrics = {}
    test = Runner.test

    def recording_test(self):
        metrics.update(test(self))
        return metrics

    argv = sys.argv
    sys.argv = [tool, *args]
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Runner, 'test', recording_test)
            runpy.run_path(osp.join(ROOT, 'tools', tool),
                           run_name='__main__')
    finally:
        sys.argv = argv
    return metrics


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('codan')
    data_root = make_codan(tmp / 'data' / 'codan', per_class=2, size=40)
    baseline = tiny('codan_day_baseline.py', data_root,
                    str(tmp / 'baseline'))
    baseline.train_cfg.max_epochs = 1
    baseline.default_hooks.checkpoint.interval = 1
    baseline_file = str(tmp / 'baseline.py')
    baseline.dump(baseline_file)
    run_tool('train.py', baseline_file)
    day_checkpoint = str(tmp / 'baseline' / 'epoch_1.pth')

    smm = tiny('codan_simmm.py', data_root, str(tmp / 'simmm'))
    smm.load_from = day_checkpoint
    smm.train_cfg.update(darken_iters=2, adapt_iters=2, val_interval=4)
    smm.param_scheduler.darkener[0].update(end=2, milestones=[1])
    smm.param_scheduler.task[0].update(begin=2, end=4, milestones=[1])
    smm.default_hooks.checkpoint.interval = 2
    smm_file = str(tmp / 'simmm.py')
    smm.dump(smm_file)
    run_tool('train.py', smm_file)
    return dict(tmp=tmp, baseline_file=baseline_file, smm_file=smm_file,
                day_checkpoint=day_checkpoint,
                stage1=str(tmp / 'simmm' / 'iter_2.pth'),
                final=str(tmp / 'simmm' / 'iter_4.pth'))


def state(path):
    return torch.load(path, map_location='cpu')['state_dict']


def test_two_stages_move_their_own_parts(trained):
    day = state(trained['day_checkpoint'])
    stage1, final = state(trained['stage1']), state(trained['final'])
    task_keys = [k for k in final if k.startswith('task_model.')
                 and final[k].is_floating_point()]
    weights = [k for k in task_keys if 'bn' not in k and 'weight' in k]
    # stage 1 (2 darken iterations from the day checkpoint): F as loaded
    for key in task_keys:
        torch.testing.assert_close(stage1[key], day[key[len('task_model.'):]])
    # stage 2: F moves, D stays where stage 1 left it
    assert any(not torch.equal(stage1[k], final[k]) for k in weights)
    darkener = [k for k in final if k.startswith('darkener.')]
    assert darkener and all(torch.equal(stage1[k], final[k])
                            for k in darkener)


def test_tools_test_reports_day_and_night(trained):
    metrics = run_tool('test.py', trained['smm_file'], trained['final'])
    assert set(metrics) == {'day/accuracy/top1', 'night/accuracy/top1'}
    assert all(0 <= v <= 100 for v in metrics.values())


def test_export_gives_a_plain_mmpretrain_checkpoint(trained):
    from mmengine.runner.checkpoint import load_checkpoint
    from mmpretrain.registry import MODELS
    out = str(trained['tmp'] / 'plain.pth')
    run_tool('export_task_model.py', trained['final'], out)
    cfg = Config.fromfile(trained['baseline_file'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        plain = MODELS.build(
            dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    load_checkpoint(plain, out, map_location='cpu', strict=True)
    final = state(trained['final'])
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(value, final[f'task_model.{key}'])
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
