"""Two processes (torchrun via tools/dist_train.sh, gloo on the CPU) train a
tiny SMM config: both ranks end with the same weights, each phase's idle
network does not break DDP (MMSeparateDistributedDataParallel with
find_unused_parameters, as the configs), the ranks draw different
exposures, and rank 0's checkpoint resumes in one process."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.dirname(osp.abspath(__file__))


@HOOKS.register_module(force=True)
class RankProbeHook(Hook):
    """Saves what each rank drew and its final weights to the work dir."""

    def before_train(self, runner):
        self.draws = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        # MMSeparateDistributedDataParallel, or the model in one process
        model = getattr(runner.model, 'module', runner.model)
        runner.message_hub.update_info('iter', runner.iter)
        generator = model._generator(torch.device('cpu'))
        self.draws.append(torch.rand(4, generator=generator))

    def after_train(self, runner):
        torch.save(
            dict(draws=torch.stack(self.draws),
                 wrapper=type(runner.model).__name__,
                 state_dict=unwrapped_state_dict(
                     getattr(runner.model, 'module', runner.model))),
            osp.join(runner.work_dir, f'rank{get_rank()}.pth'))


def unwrapped_state_dict(model) -> dict:
    """The state dict of a model whose children
    ``MMSeparateDistributedDataParallel`` wrapped, keys as unwrapped."""
    from mmengine.model import is_model_wrapper
    return {
        f'{name}.{key}': value
        for name, child in model.named_children()
        for key, value in (child.module if is_model_wrapper(child) else
                           child).state_dict().items()
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def two_process_config(data_root, work_dir):
    from test_train_loop import smm_config
    cfg = smm_config(data_root, work_dir, darken_iters=2, adapt_iters=2)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval')
    cfg.model_wrapper_cfg = dict(
        type='MMSeparateDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True)
    cfg.custom_imports = dict(imports=['test_multiprocess'])
    cfg.custom_hooks.append(dict(type='RankProbeHook'))
    cfg.log_level = 'INFO'
    return cfg


@pytest.fixture(scope='module')
def two_process_run(tmp_path_factory):
    from data_trees import make_cityscapes
    data_root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(data_root / 'cityscapes'), num_train=4, num_val=0)
    work_dir = tmp_path_factory.mktemp('dist')
    cfg = two_process_config(data_root, work_dir)
    config = str(work_dir / 'tiny_dist.py')
    cfg.dump(config)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               PYTHONPATH=TESTS, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    result = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, '2'],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=240)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    ranks = [torch.load(work_dir / f'rank{r}.pth', weights_only=True)
             for r in range(2)]
    return dict(cfg=cfg, work_dir=work_dir, ranks=ranks,
                log=result.stdout + result.stderr)


def test_both_ranks_end_with_identical_weights(two_process_run):
    rank0, rank1 = two_process_run['ranks']
    assert rank0['wrapper'] == 'MMSeparateDistributedDataParallel'
    start = Runner.from_cfg(
        dict(two_process_run['cfg'], work_dir=str(
            two_process_run['work_dir'] / 'start'),
             experiment_name='start', model_wrapper_cfg=None))
    initial = start.model.state_dict()
    for key, value in rank0['state_dict'].items():
        if key.endswith(('running_mean', 'running_var')):
            continue  # each rank normalises its own half batch (no SyncBN)
        torch.testing.assert_close(rank1['state_dict'][key], value, rtol=0,
                                   atol=0, msg=key)
    # both phases trained: the darkener and the task model moved
    for part in ('darkener.', 'task_model.backbone.'):
        assert any(not torch.equal(initial[k], v)
                   for k, v in rank0['state_dict'].items()
                   if k.startswith(part) and v.is_floating_point()), part


def test_ranks_draw_different_exposures(two_process_run):
    rank0, rank1 = two_process_run['ranks']
    assert rank0['draws'].shape == (4, 4)
    for step in range(4):
        assert not torch.equal(rank0['draws'][step], rank1['draws'][step])


def test_rank0_checkpoint_resumes_in_one_process(two_process_run, tmp_path):
    checkpoint = osp.join(two_process_run['work_dir'], 'iter_2.pth')
    cfg = two_process_run['cfg'].copy()
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'one_process_resume'
    cfg.resume, cfg.load_from = True, checkpoint
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    assert osp.isfile(osp.join(tmp_path, 'iter_4.pth'))
