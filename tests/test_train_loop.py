"""The two-phase loop end to end with mmengine's Runner on tiny Cityscapes /
Dark Zurich / Nighttime Driving trees: phases, resume, evaluation, tools."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmsimmm.engine import phase_plan
from conftest import tiny_smm_cfg
from data_trees import make_cityscapes, make_dark_zurich, make_night_driving

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_phase_plans():
    assert phase_plan(2, 3) == ['darken'] * 2 + ['adapt'] * 3
    assert phase_plan(4, 2, 'alternating', 2) == [
        'darken', 'darken', 'adapt', 'darken', 'darken', 'adapt'
    ]
    assert phase_plan(1, 3, 'alternating', 1) == [
        'darken', 'adapt', 'adapt', 'adapt'
    ]
    # darken steps beyond k per adapt step run first: the plan ends on an
    # adapt step, so every darken step can still change F
    assert phase_plan(5, 1, 'alternating', 2) == ['darken'] * 5 + ['adapt']
    with pytest.raises(ValueError, match="schedule 'gan'"):
        phase_plan(1, 1, 'gan')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(root / 'cityscapes'))
    make_dark_zurich(str(root / 'dark_zurich'))
    make_night_driving(str(root / 'NighttimeDrivingTest'))
    return root


def smm_config(data_root, work_dir, darken_iters=4, adapt_iters=4, **loop):
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 64), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]

    def loader(dataset, batch_size=1, sampler='DefaultSampler'):
        return dict(
            batch_size=batch_size,
            num_workers=0,
            sampler=dict(type=sampler, shuffle=sampler != 'DefaultSampler'),
            dataset=dataset)

    cityscapes = dict(
        type='CityscapesDataset',
        data_root=str(data_root / 'cityscapes'),
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ])
    dark_zurich = dict(
        type='DarkZurichDataset',
        data_root=str(data_root / 'dark_zurich'),
        data_prefix=dict(
            img_path='rgb_anon/val/night', seg_map_path='gt/val/night'),
        pipeline=test_pipeline)
    night_driving = dict(
        type='NightDrivingDataset',
        data_root=str(data_root / 'NighttimeDrivingTest'),
        data_prefix=dict(
            img_path='leftImg8bit/test/night',
            seg_map_path='gtCoarse_daytime_trainvaltest/test/night'),
        pipeline=test_pipeline)
    model = tiny_smm_cfg()
    model.task_model.data_preprocessor.size = (64, 128)
    model.pop('seed')
    evaluators = [
        dict(type='IoUMetric', iou_metrics=['mIoU'], prefix='dark_zurich'),
        dict(type='IoUMetric', iou_metrics=['mIoU'], prefix='night_driving')
    ]
    total = darken_iters + adapt_iters
    return Config(
        dict(
            default_scope='mmseg',
            work_dir=str(work_dir),
            model=model,
            train_dataloader=loader(cityscapes, 2, 'InfiniteSampler'),
            val_dataloader=[loader(dark_zurich), loader(night_driving)],
            test_dataloader=[loader(dark_zurich), loader(night_driving)],
            val_evaluator=evaluators,
            test_evaluator=evaluators,
            train_cfg=dict(
                type='mmsimmm.TwoPhaseTrainLoop',
                darken_iters=darken_iters,
                adapt_iters=adapt_iters,
                val_interval=total,
                **loop),
            val_cfg=dict(type='mmsimmm.MultiDatasetValLoop'),
            test_cfg=dict(type='mmsimmm.MultiDatasetTestLoop'),
            optim_wrapper=dict(
                constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
                darkener=dict(
                    optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4),
                    clip_grad=dict(max_norm=0.1)),
                task=dict(
                    optimizer=dict(type='SGD', lr=1e-2, momentum=0.9))),
            param_scheduler=dict(
                darkener=[
                    dict(type='MultiStepLR', by_epoch=False, begin=0,
                         end=darken_iters, milestones=[2])
                ],
                task=[
                    dict(type='MultiStepLR', by_epoch=False,
                         begin=darken_iters, end=total, milestones=[2])
                ]),
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                interval=2),
                logger=dict(type='LoggerHook', interval=1)),
            log_processor=dict(by_epoch=False),
            custom_hooks=[dict(type='mmsimmm.PlainMessageHubHook'),
                          dict(type='mmsimmm.FiniteLossHook')],
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            randomness=dict(seed=0),
            log_level='WARNING'))


def weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.fixture(scope='module')
def uninterrupted(data_root, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('full')
    cfg = smm_config(data_root, work_dir)
    cfg.experiment_name = 'full'
    runner = Runner.from_cfg(cfg)
    phases, changes = [], []
    model = runner.model

    # record which top-level parts move in each iteration
    from mmengine.hooks import Hook

    class PartsWatcher(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.before = weights(runner)

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            phases.append(runner.message_hub.get_info('smm_phase'))
            after = runner.model.state_dict()
            changes.append({
                k.split('.')[0] if not k.startswith('target') else 'target'
                for k, v in self.before.items()
                if not torch.equal(v, after[k])
            })

    runner.register_hook(PartsWatcher())
    runner.train()
    return dict(runner=runner, weights=weights(runner), phases=phases,
                changes=changes, work_dir=work_dir, model=model)


def test_phases_change_the_right_parts(uninterrupted):
    assert uninterrupted['phases'] == ['darken'] * 4 + ['adapt'] * 4
    for phase, moved in zip(uninterrupted['phases'],
                            uninterrupted['changes']):
        if phase == 'darken':
            assert moved == {'darkener'}
        else:
            assert moved == {'task_model', 'projector', 'predictor',
                             'target'}


def test_schedulers_and_validation_metrics(uninterrupted):
    runner = uninterrupted['runner']
    lrs = {k: [g['lr'] for g in v.param_groups]
           for k, v in runner.optim_wrapper.items()}
    assert lrs['darkener'][0] == pytest.approx(1e-4)  # decayed at 2 of 4
    assert lrs['task'][0] == pytest.approx(1e-3)
    scalars = runner.message_hub.log_scalars
    assert 'val/dark_zurich/mIoU' in scalars
    assert 'val/night_driving/mIoU' in scalars


class _Killed(Exception):
    pass


# checkpoints every 2 iterations of 4 darken + 4 adapt: killed after 3
# (mid stage 1), 4 (at the switch, its checkpoint written), 5 (first adapt
# step lost) and 7 (mid stage 2), --resume continues from 2, 4, 4 and 6
@pytest.mark.parametrize('killed_after', [3, 4, 5, 7])
def test_killed_run_resumes_to_the_uninterrupted_weights(
        uninterrupted, data_root, tmp_path, killed_after):
    from mmengine.hooks import Hook

    class Kill(Hook):
        priority = 'LOWEST'  # after the CheckpointHook, as a real kill

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter + 1 == killed_after:
                raise _Killed

    cfg = smm_config(data_root, tmp_path)
    cfg.experiment_name = f'killed{killed_after}'
    runner = Runner.from_cfg(cfg)
    runner.register_hook(Kill())
    with pytest.raises(_Killed):
        runner.train()
    cfg = smm_config(data_root, tmp_path)  # tools/train.py --resume
    cfg.experiment_name = f'resumed{killed_after}'
    cfg.resume, cfg.load_from = True, None
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 8
    resumed = weights(runner)
    for key, value in uninterrupted['weights'].items():
        torch.testing.assert_close(resumed[key], value, rtol=1e-5,
                                   atol=1e-6, msg=key)


def test_tools_test_on_saved_checkpoint(uninterrupted, data_root, tmp_path):
    cfg = smm_config(data_root, tmp_path / 'test')
    cfg.log_level = 'INFO'  # metrics are logged at INFO
    config_file = str(tmp_path / 'smm_tiny.py')
    cfg.dump(config_file)
    checkpoint = osp.join(uninterrupted['work_dir'], 'iter_8.pth')
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'), config_file,
         checkpoint, '--work-dir', str(tmp_path / 'test'),
         '--out', str(tmp_path / 'preds.pkl')],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert 'dark_zurich/mIoU' in output and 'night_driving/mIoU' in output
    assert osp.exists(tmp_path / 'preds.0.pkl')
    assert osp.exists(tmp_path / 'preds.1.pkl')


def test_missing_data_path_is_one_line_error(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'darkzurich_simmm.py'))
    cfg.work_dir = str(tmp_path)
    config_file = str(tmp_path / 'cfg.py')
    cfg.dump(config_file)
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config_file],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert 'data path not found: data/cityscapes/leftImg8bit/train' in last
    # with the data in place, the missing day checkpoint is named
    make_cityscapes(str(tmp_path / 'data' / 'cityscapes'), 1, 0)
    make_dark_zurich(str(tmp_path / 'data' / 'dark_zurich'), 1)
    make_night_driving(str(tmp_path / 'data' / 'NighttimeDrivingTest'), 1)
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config_file],
        capture_output=True, text=True, cwd=str(tmp_path))
    last = result.stderr.strip().splitlines()[-1]
    assert last == ('load_from: checkpoint not found: '
                    'work_dirs/darkzurich_day_baseline/iter_80000.pth')


def test_missing_scheduler_key_is_named(data_root, tmp_path):
    cfg = smm_config(data_root, tmp_path)
    cfg.param_scheduler.pop('task')
    with pytest.raises(KeyError, match="no entry for 'task'"):
        Runner.from_cfg(cfg).train()


def test_alternating_schedule_with_its_own_darken_dataloader(data_root,
                                                            tmp_path):
    cfg = smm_config(data_root, tmp_path, darken_iters=4, adapt_iters=2,
                     schedule='alternating', darken_steps_per_adapt=2)
    cfg.experiment_name = 'alternating'
    cfg.train_cfg.darken_dataloader = dict(cfg.train_dataloader,
                                           batch_size=1)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval')
    runner = Runner.from_cfg(cfg)
    seen = []
    from mmengine.hooks import Hook

    class BatchWatcher(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append((runner.train_loop.phase,
                         len(data_batch['inputs'])))

    runner.register_hook(BatchWatcher())
    runner.train()
    assert seen == [('darken', 1), ('darken', 1), ('adapt', 2),
                    ('darken', 1), ('darken', 1), ('adapt', 2)]


def test_export_plain_task_checkpoint_loads_strictly(uninterrupted,
                                                     tmp_path):
    from mmengine.registry import DefaultScope
    from mmengine.runner.checkpoint import load_checkpoint
    from mmseg.registry import MODELS
    checkpoint = osp.join(uninterrupted['work_dir'], 'iter_8.pth')
    out = tmp_path / 'plain.pth'
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'export_task_model.py'),
         checkpoint, str(out)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    with DefaultScope.overwrite_default_scope('mmseg'):
        plain = MODELS.build(tiny_smm_cfg().task_model)
    load_checkpoint(plain, str(out), map_location='cpu', strict=True)
    smm = uninterrupted['model']
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(value,
                                   smm.task_model.state_dict()[key])
    bad = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'export_task_model.py'),
         str(out), str(tmp_path / 'again.pth')],
        capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1].endswith(
        'not an SMM checkpoint')
