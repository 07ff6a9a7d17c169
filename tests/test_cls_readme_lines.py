"""The README's lines for an existing mmpretrain config, as a new user adds
them to mmpretrain's own ResNet-18 ImageNet config: the Runner builds
SimMinMax (adapter from the library, preprocessor from the top level), and
both phases run a step on a two-view batch."""
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.runner import Runner

pytest.importorskip('mmpretrain')
# the Runners' MessageHub / DefaultScope do not outlive this module
from test_codan_train_test import runner_globals_restored  # noqa: E402,F401

README_LINES = """
_base_ = ['mmpretrain::resnet/resnet18_8xb32_in1k.py', 'mmsimmm::_base_/safe_runtime.py']
load_from = None  # your day-trained checkpoint

model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},              # your model, unmodified
    projector=dict(type='mmsimmm.BYOLProjector'),  # pooled, in_channels inferred (512)
    predictor=dict(type='mmsimmm.BYOLPredictor'))
optim_wrapper = dict(
    _delete_=True,
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
                  clip_grad=dict(max_norm=0.1)),
    task=dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5)))
param_scheduler = dict(_delete_=True, darkener=[], task=[])
train_cfg = dict(_delete_=True, type='mmsimmm.TwoPhaseTrainLoop',
                 darken_iters=1000, adapt_iters=5000, val_interval=1000)
# mmpretrain saves by epoch, which an iteration loop never finishes
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1000))
log_processor = dict(by_epoch=False)
"""


def test_readme_lines_on_mmpretrains_resnet18_config(tmp_path):
    path = tmp_path / 'resnet18_simmm.py'
    path.write_text(textwrap.dedent(README_LINES))
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert type(model).__name__ == 'SimMinMax'
    assert type(model.task_adapter).__name__ == 'MMPretrainTaskAdapter'
    pre = model.task_model.data_preprocessor
    assert model.data_preprocessor is pre
    torch.testing.assert_close(pre.mean.flatten(),
                               torch.tensor([123.675, 116.28, 103.53]))
    assert runner.cfg.default_hooks.checkpoint.by_epoch is False

    from test_cls_smm import two_view_batch
    from test_sim_min_max import build_optim
    model.train()
    optim = build_optim(model)
    hub = MessageHub.get_current_instance()
    for phase in ('darken', 'adapt'):
        hub.update_info('smm_phase', phase)
        log_vars = model.train_step(two_view_batch(n=2), optim)
        assert torch.isfinite(log_vars['loss']), phase
    assert 'adapt.loss_byol' in log_vars
