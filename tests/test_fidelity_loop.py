"""Issue 9 items 8 and 9: the alternating plan ends on an adapt step and its
schedulers count their own phase's steps; validation starts with stage 2."""
import itertools
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook, ParamSchedulerHook
from mmengine.optim import MultiStepLR, OptimWrapper
from mmengine.runner import Runner

from mmsimmm.engine import phase_plan
from mmsimmm.engine.runner.two_phase_loop import PhaseParamSchedulerHook
from data_trees import make_cityscapes, make_dark_zurich, make_night_driving
from test_train_loop import smm_config


@pytest.mark.parametrize(
    'darken,adapt,k',
    list(itertools.product((0, 1, 3, 7, 12), (1, 2, 5), (1, 2, 3))))
def test_alternating_plan_ends_on_adapt_and_keeps_the_budgets(darken, adapt,
                                                              k):
    plan = phase_plan(darken, adapt, 'alternating', k)
    assert plan.count('darken') == darken and plan.count('adapt') == adapt
    assert plan[-1] == 'adapt'  # every darken step precedes an adapt step
    # between two adapt steps at most k darken steps
    runs = ''.join('d' if p == 'darken' else 'a' for p in plan).split('a')
    assert all(len(run) <= k for run in runs[1:])


def _schedulers(darken_iters, adapt_iters):
    """Keyed schedulers as a sequential config writes them: darkener from
    0, task from darken_iters, milestones counted from begin."""
    parts = {}
    for name, begin, end in (('darkener', 0, darken_iters),
                             ('task', darken_iters,
                              darken_iters + adapt_iters)):
        wrapper = OptimWrapper(
            torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
        parts[name] = (wrapper, [
            MultiStepLR(wrapper, milestones=[2, 3], gamma=0.5, begin=begin,
                        end=end, by_epoch=False)
        ])
    return parts


def _lrs_per_phase(plan, darken_iters, hook):
    """The learning rate each phase's optimiser uses at its own steps."""
    parts = _schedulers(darken_iters, plan.count('adapt'))
    runner = SimpleNamespace(
        iter=0,
        param_schedulers={k: v[1] for k, v in parts.items()},
        train_loop=SimpleNamespace(
            darken_iters=darken_iters,
            phase_of=lambda i: plan[min(i, len(plan) - 1)]))
    hook.before_train(runner)
    seen = dict(darken=[], adapt=[])
    for index, phase in enumerate(plan):
        part = 'darkener' if phase == 'darken' else 'task'
        wrapper = parts[part][0]
        seen[phase].append(wrapper.param_groups[0]['lr'])
        wrapper.step()  # schedulers expect an optimiser step first
        runner.iter = index
        hook.after_train_iter(runner, index)
    return seen


def test_alternating_schedulers_count_their_own_phase_steps():
    darken_iters, adapt_iters = 6, 5
    sequential = _lrs_per_phase(phase_plan(darken_iters, adapt_iters),
                                darken_iters, ParamSchedulerHook())
    # the sequential reference: decays after each phase's 2nd and 3rd step
    assert sequential['darken'] == [1, 1, .5, .25, .25, .25]
    assert sequential['adapt'] == [1, 1, .5, .25, .25]
    alternating = phase_plan(darken_iters, adapt_iters, 'alternating', 1)
    assert _lrs_per_phase(alternating, darken_iters,
                          PhaseParamSchedulerHook()) == sequential
    # mmengine's hook steps every scheduler every iteration: the shipped
    # schedules would decay D on the wrong steps and F never
    stock = _lrs_per_phase(alternating, darken_iters, ParamSchedulerHook())
    assert stock != sequential


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('fidelity_loop_data')
    make_cityscapes(str(root / 'cityscapes'), num_train=2, num_val=0)
    make_dark_zurich(str(root / 'dark_zurich'), num=1)
    make_night_driving(str(root / 'NighttimeDrivingTest'), num=1)
    return root


class _Recorder(Hook):

    def __init__(self):
        self.validated_at, self.lrs = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        phase = runner.train_loop.phase_of(batch_idx)
        part = 'darkener' if phase == 'darken' else 'task'
        self.lrs.append((phase, runner.optim_wrapper[part].param_groups[0]
                         ['lr']))

    def after_val_epoch(self, runner, metrics=None):
        self.validated_at.append(runner.iter)


def _run(data_root, tmp_path, **loop):
    cfg = smm_config(data_root, tmp_path, darken_iters=4, adapt_iters=4,
                     **loop)
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint.interval = 100
    cfg.experiment_name = tmp_path.name
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder


def test_validation_starts_with_stage_two(data_root, tmp_path):
    runner, recorder = _run(data_root, tmp_path)
    # val_interval 2 over 8 iterations: not after iterations 2 and 4, where
    # only D had trained (F unchanged), but after 6 and 8
    assert recorder.validated_at == [6, 8]


def test_alternating_runner_installs_the_phase_scheduler_hook(
        data_root, tmp_path):
    runner, recorder = _run(data_root, tmp_path, schedule='alternating',
                            darken_steps_per_adapt=1)
    kinds = [type(h) for h in runner.hooks]
    assert PhaseParamSchedulerHook in kinds
    assert ParamSchedulerHook not in kinds
    # smm_config: darkener 1e-3 decays x0.1 after its own 2nd step; task
    # 1e-2 after its own 2nd step (its schedule begins at darken_iters)
    darken = [lr for phase, lr in recorder.lrs if phase == 'darken']
    adapt = [lr for phase, lr in recorder.lrs if phase == 'adapt']
    assert darken == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])
    assert adapt == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3])
    assert recorder.validated_at == [2, 4, 6, 8]  # F moves from iteration 2
