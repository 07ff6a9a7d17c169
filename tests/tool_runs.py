"""Shared by the end-to-end tests of the shipped CODaN and ARID configs:
the real tools/ scripts run in this process on toy-sized configs (day
baseline, then SMM's two stages from its checkpoint, then export)."""
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module', autouse=True)
def runner_globals_restored():
    """A Runner makes the newest MessageHub and DefaultScope, which later
    tests would read as the current ones (e.g. the phase a unit test
    publishes); remove those made in the importing module afterwards."""
    from mmengine.logging import MessageHub
    before = {
        cls: set(cls._instance_dict)
        for cls in (MessageHub, DefaultScope)
    }
    yield
    for cls, names in before.items():
        for name in set(cls._instance_dict) - names:
            del cls._instance_dict[name]


def shrink_config(node, small_value, batch_size):
    """Shrinks a config tree in place: ``small_value(node, key, value)``
    gives the toy-size value of a key or None (keep it and look inside);
    every loader gets ``batch_size`` and no worker processes."""
    if isinstance(node, dict):
        for key, value in node.items():
            small = small_value(node, key, value)
            if small is not None:
                node[key] = small
            elif key == 'batch_size':
                node[key] = batch_size
            elif key == 'num_workers':
                node[key] = 0
            elif key == 'persistent_workers':
                node[key] = False
            else:
                shrink_config(value, small_value, batch_size)
    elif isinstance(node, (list, tuple)):
        for item in node:
            shrink_config(item, small_value, batch_size)


def finish_toy_config(cfg, work_dir):
    """The last touches of a toy config whose narrow backbone ends in 64
    channels: SMM's projector takes those, ``work_dir``, quiet logging."""
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


def train_day_then_smm(tmp, baseline, smm) -> dict:
    """tools/train.py on the toy ``baseline`` config (1 epoch, work dir
    tmp/baseline) and then on ``smm`` (work dir tmp/simmm) from its
    checkpoint: 2 darkener + 2 adaptation iterations, a checkpoint after
    each stage. Returns the dumped config files and checkpoint paths."""
    baseline.train_cfg.max_epochs = 1
    baseline.default_hooks.checkpoint.interval = 1
    baseline_file = str(tmp / 'baseline.py')
    baseline.dump(baseline_file)
    run_tool('train.py', baseline_file)
    day_checkpoint = str(tmp / 'baseline' / 'epoch_1.pth')

    smm.load_from = day_checkpoint
    smm.train_cfg.update(darken_iters=2, adapt_iters=2, val_interval=4)
    smm.param_scheduler.darkener[0].update(end=2, milestones=[1])
    task_schedule = smm.param_scheduler.task[0]
    task_schedule.update(begin=2, end=4)
    if 'milestones' in task_schedule:  # MultiStepLR: one step in stage 2
        task_schedule.milestones = [1]
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


def assert_stages_move_their_own_parts(trained, is_task_weight):
    """Stage 1 keeps F as loaded from the day checkpoint; stage 2 moves
    some F weight (keys ``is_task_weight`` selects) and keeps D where stage
    1 left it. Returns the stage-1 and final state dicts."""
    day = state(trained['day_checkpoint'])
    stage1, final = state(trained['stage1']), state(trained['final'])
    task_keys = [k for k in final if k.startswith('task_model.')
                 and final[k].is_floating_point()]
    for key in task_keys:
        torch.testing.assert_close(stage1[key], day[key[len('task_model.'):]])
    assert any(not torch.equal(stage1[k], final[k]) for k in task_keys
               if is_task_weight(k))
    darkener = [k for k in final if k.startswith('darkener.')]
    assert darkener and all(torch.equal(stage1[k], final[k])
                            for k in darkener)
    return stage1, final


def export_plain_checkpoint(trained, models, scope, model_cfg) -> str:
    """tools/export_task_model.py on the final SMM checkpoint; the result
    loads strictly into ``model_cfg`` built by ``models`` in ``scope`` and
    holds the SMM task model's weights. Returns its path."""
    from mmengine.runner.checkpoint import load_checkpoint
    out = str(trained['tmp'] / 'plain.pth')
    run_tool('export_task_model.py', trained['final'], out)
    with DefaultScope.overwrite_default_scope(scope):
        plain = models.build(model_cfg)
    load_checkpoint(plain, out, map_location='cpu', strict=True)
    final = state(trained['final'])
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(value, final[f'task_model.{key}'])
    return out
