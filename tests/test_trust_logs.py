"""Each logged line of a two-phase run shows its own phase's values only:
no stage-1 ``darken.*`` value or gradient norm repeated in stage 2, and the
smoothed total ``loss`` averaged over the phase's own iterations."""
import numpy as np
import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from data_trees import make_cityscapes
from test_train_loop import smm_config


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(root / 'cityscapes'), 2, 0)
    return root


class LoggedLines(Hook):
    """What mmengine's LoggerHook prints after each iteration (the tag of
    ``LogProcessor.get_log_after_iter``), next to the step's own outputs."""
    priority = 'LOWEST'

    def __init__(self):
        self.lines = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        tag, _ = runner.log_processor.get_log_after_iter(
            runner, batch_idx, 'train')
        phase = runner.message_hub.get_info('smm_phase')
        self.lines.append((phase, tag, float(outputs['loss'])))


def run_logged(data_root, tmp_path, **loop):
    cfg = smm_config(data_root, tmp_path, **loop)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval')
    cfg.experiment_name = f'logs_{loop.get("schedule", "sequential")}'
    runner = Runner.from_cfg(cfg)
    hook = LoggedLines()
    runner.register_hook(hook)
    runner.train()
    return hook.lines


def check_own_phase_only(lines):
    own_losses = {'darken': [], 'adapt': []}
    for phase, tag, loss in lines:
        other = 'adapt' if phase == 'darken' else 'darken'
        assert not [k for k in tag if k.startswith(f'{other}.')], (phase, tag)
        assert [k for k in tag if k.startswith(f'{phase}.')], (phase, tag)
        # the darkener clips its gradients (grad_norm logged), the task
        # optimiser does not
        assert ('grad_norm' in tag) == (phase == 'darken'), (phase, tag)
        own_losses[phase].append(loss)
        window = own_losses[phase][-10:]  # LogProcessor's default window
        assert tag['loss'] == pytest.approx(np.mean(window), rel=1e-5), \
            (phase, tag['loss'], window)


def test_sequential_stage_two_logs_only_its_own_values(data_root, tmp_path):
    lines = run_logged(data_root, tmp_path, darken_iters=3, adapt_iters=3)
    assert [phase for phase, _, _ in lines] == ['darken'] * 3 + ['adapt'] * 3
    check_own_phase_only(lines)
    # stage 2's first line: the adapt step's own loss, not a mix
    assert lines[3][1]['loss'] == pytest.approx(lines[3][2], rel=1e-5)


def test_alternating_logs_keep_each_phase_apart(data_root, tmp_path):
    lines = run_logged(data_root, tmp_path, darken_iters=4, adapt_iters=2,
                       schedule='alternating', darken_steps_per_adapt=2)
    assert [phase for phase, _, _ in lines] == [
        'darken', 'darken', 'adapt', 'darken', 'darken', 'adapt']
    check_own_phase_only(lines)
