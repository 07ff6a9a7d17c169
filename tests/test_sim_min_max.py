"""SimMinMax: which parameters change in which phase, loss keys, EMA target,
checkpoint adoption, inference delegation."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapperDict

from mmsimmm.models import SimMinMax
from mmsimmm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from conftest import seg_batch, tiny_smm_cfg


def build_optim(model, lr=1e-2):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='mmsimmm.SimMinMaxOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                darkener=dict(
                    optimizer=dict(type='Adam', lr=lr, weight_decay=1e-4),
                    clip_grad=dict(max_norm=0.1)),
                task=dict(
                    optimizer=dict(type='SGD', lr=lr, momentum=0.9)))))
    return constructor(model)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    after = module.state_dict()
    return {k for k in before if not torch.equal(before[k], after[k])}


@pytest.fixture
def model():
    torch.manual_seed(0)
    model = MODELS.build(tiny_smm_cfg())
    model.init_weights()
    return model


def test_builds_with_task_model_preprocessor_and_named_parts(model):
    assert isinstance(model, SimMinMax)
    assert model.data_preprocessor is model.task_model.data_preprocessor
    optim = build_optim(model)
    assert isinstance(optim, OptimWrapperDict)
    assert set(optim.keys()) == {'darkener', 'task'}
    darkener_params = {id(p) for p in model.darkener.parameters()}
    for group in optim['darkener'].optimizer.param_groups:
        assert {id(p) for p in group['params']} <= darkener_params
    task_ids = {id(p) for g in optim['task'].optimizer.param_groups
                for p in g['params']}
    expected = {id(p) for m in (model.task_model, model.projector,
                                model.predictor) for p in m.parameters()}
    assert task_ids == expected
    # the EMA target is not optimised
    assert not task_ids & {id(p) for p in model.target.parameters()}


def test_darken_phase_changes_only_the_darkener(model, message_hub):
    optim = build_optim(model)
    message_hub.update_info('smm_phase', 'darken')
    model.train()
    before = snapshot(model)
    log_vars = model.train_step(seg_batch(), optim)
    assert {'darken.loss_sim', 'darken.loss_tv', 'darken.loss_color',
            'darken.loss_exposure', 'darken.loss_flex', 'darken.similarity',
            'loss'} <= set(log_vars)
    changes = changed(before, model)
    assert changes and all(k.startswith('darkener.') for k in changes)
    assert len(changes) == len(list(model.darkener.parameters()))
    # F ran in eval mode (BN running stats untouched) and is unfrozen after
    assert model.task_model.training
    assert all(p.requires_grad for p in model.task_model.parameters())
    # gradients reached D through F: L_D^sim alone moves D
    assert 0 < log_vars['darken.similarity'] <= 1.0 + 1e-6


def test_similarity_gradient_flows_through_frozen_task_model(model,
                                                             message_hub):
    message_hub.update_info('smm_phase', 'darken')
    only_sim = MODELS.build(
        tiny_smm_cfg(darken_losses=dict(
            similarity=dict(type='mmsimmm.FeatureSimilarityLoss'))))
    optim = build_optim(only_sim)
    before = snapshot(only_sim.darkener)
    only_sim.train_step(seg_batch(), optim)
    assert changed(before, only_sim.darkener)
    assert all(p.grad is None for p in only_sim.task_model.parameters())


def test_adapt_phase_changes_task_model_and_necks_and_moves_ema(
        model, message_hub):
    optim = build_optim(model)
    message_hub.update_info('smm_phase', 'adapt')
    model.train()
    model.train_step(seg_batch(seed=1), optim)  # mmengine's EMA copies first
    before = snapshot(model)
    log_vars = model.train_step(seg_batch(), optim)
    assert {'adapt.decode.loss_ce', 'adapt.loss_byol', 'loss'} <= \
        set(log_vars)
    changes = changed(before, model)
    assert not any(k.startswith('darkener.') for k in changes)
    for prefix in ('task_model.backbone.', 'task_model.decode_head.',
                   'projector.', 'predictor.', 'target.module.backbone.',
                   'target.module.projector.'):
        assert any(k.startswith(prefix) for k in changes), prefix
    # EMA: target = (1 - m) target + m online, m = 0.01
    online = model._online_encoder().state_dict()
    key = 'backbone.stem.0.weight'
    old_target = before[f'target.module.{key}']
    expected = old_target + 0.01 * (online[key] - old_target)
    torch.testing.assert_close(
        model.target.module.state_dict()[key], expected)


def test_task_loss_is_sum_over_views(model, message_hub):
    """task_loss_scale=2: the logged CE of the 2-view batch is CE(day) +
    CE(dark) (mmseg averages; both views share labels and pixel counts)."""
    message_hub.update_info('smm_phase', 'adapt')
    model.train()
    optim = build_optim(model, lr=0.0)  # weights fixed: same CE twice
    summed = model.train_step(seg_batch(), optim)
    model.task_loss_scale = 1.0
    averaged = model.train_step(seg_batch(), optim)
    assert summed['adapt.decode.loss_ce'].item() == pytest.approx(
        2 * averaged['adapt.decode.loss_ce'].item(), rel=1e-4)


def test_unit_rgb_round_trip_and_channel_order(model):
    adapter, pre = model.task_adapter, model.data_preprocessor
    raw = seg_batch(n=1)['inputs'][0].float()  # BGR uint8 as loaded by cv2
    inputs = pre(seg_batch(n=1), False)['inputs']
    rgb = adapter.to_unit_rgb(pre, inputs)
    torch.testing.assert_close(rgb[0], raw.flip(0) / 255, atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(adapter.from_unit_rgb(pre, rgb, inputs), inputs,
                               atol=1e-4, rtol=0)


def test_ema_target_resyncs_after_loading_a_plain_task_checkpoint(model):
    from mmengine.runner.checkpoint import load_state_dict
    day_model = MODELS.build(tiny_smm_cfg()).task_model
    for p in day_model.parameters():
        p.data.normal_()
    load_state_dict(model, day_model.state_dict(), strict=True)
    for key, value in day_model.state_dict().items():
        torch.testing.assert_close(model.task_model.state_dict()[key], value)
        if key.startswith('backbone.'):
            torch.testing.assert_close(
                model.target.module.state_dict()[key], value)


def test_init_weights_syncs_target(model):
    online = model._online_encoder().state_dict()
    for key, value in model.target.module.state_dict().items():
        torch.testing.assert_close(value, online[key])


def test_inference_delegates_to_task_model(model):
    model.eval()
    batch = seg_batch(n=1)
    ours = model.test_step(copy.deepcopy(batch))
    theirs = model.task_model.test_step(copy.deepcopy(batch))
    torch.testing.assert_close(ours[0].seg_logits.data,
                               theirs[0].seg_logits.data)
    with pytest.raises(RuntimeError, match='train_step'):
        model(torch.zeros(1, 3, 8, 8), mode='loss')


def test_phase_must_be_published(model, message_hub):
    message_hub.update_info('smm_phase', None)
    with pytest.raises(RuntimeError, match='smm_phase'):
        model.train_step(seg_batch(), build_optim(model))


def test_config_errors_are_one_line(message_hub):
    with pytest.raises(KeyError, match="unknown term 'sharpness'"):
        MODELS.build(tiny_smm_cfg(darken_losses=dict(sharpness=dict())))
    with pytest.raises(ValueError, match='both projector and predictor'):
        MODELS.build(tiny_smm_cfg(predictor=None))
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type='mmsimmm.SimMinMaxOptimWrapperConstructor',
             optim_wrapper_cfg=dict(darkener=dict(
                 optimizer=dict(type='Adam', lr=1e-4)))))
    with pytest.raises(KeyError, match="part 'task' is missing"):
        constructor(MODELS.build(tiny_smm_cfg()))


class _CpuAutocastWrapper(__import__('mmengine').optim.OptimWrapper):
    """What AmpOptimWrapper does to the forward (autocast), on CPU/bf16:
    mmengine's AmpOptimWrapper itself needs a GPU."""

    from contextlib import contextmanager

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=torch.bfloat16):
            yield


@pytest.mark.parametrize('phase', ['darken', 'adapt'])
def test_both_phases_run_under_autocast(model, message_hub, phase):
    optim = build_optim(model)
    wrapped = OptimWrapperDict(
        darkener=_CpuAutocastWrapper(optim['darkener'].optimizer,
                                     clip_grad=dict(max_norm=0.1)),
        task=_CpuAutocastWrapper(optim['task'].optimizer))
    message_hub.update_info('smm_phase', phase)
    model.train()
    log_vars = model.train_step(seg_batch(), wrapped)
    assert all(torch.isfinite(v).all() for v in log_vars.values())


def test_enable_amp_converts_every_part():
    from mmengine.config import Config
    from mmsimmm.utils import enable_amp
    cfg = Config(dict(optim_wrapper=dict(
        constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
        darkener=dict(optimizer=dict(type='Adam', lr=1e-4)),
        task=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-3)))))
    enable_amp(cfg)
    for part in ('darkener', 'task'):
        assert cfg.optim_wrapper[part].type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper[part].loss_scale == 'dynamic'
    plain = Config(dict(optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-3))))
    enable_amp(plain)
    assert plain.optim_wrapper.type == 'AmpOptimWrapper'


def test_exposure_error_is_logged_and_an_untrained_darkener_is_named(
        model, message_hub, monkeypatch):
    """darken.exposure_error = mean |mean(D(I, E)) - E|; the switch to stage
    2 after a whole stage 1 warns when D still misses its exposure."""
    optim = build_optim(model, lr=0.0)  # D stays the identity-like init
    message_hub.update_info('smm_phase', 'darken')
    model.train()
    batch = seg_batch()
    captured = {}
    original = model._darken_losses

    def spy(dark, alpha, beta, exposure, *args):
        captured.update(dark=dark.detach(), exposure=exposure)
        return original(dark, alpha, beta, exposure, *args)

    monkeypatch.setattr(model, '_darken_losses', spy)
    log_vars = model.train_step(batch, optim)
    expected = (captured['dark'].mean(dim=(1, 2, 3)) -
                captured['exposure']).abs().mean().item()
    assert log_vars['darken.exposure_error'] == pytest.approx(expected)
    warnings = []
    monkeypatch.setattr(
        'mmsimmm.models.algorithms.sim_min_max.print_log',
        lambda msg, **kwargs: warnings.append(msg))
    for _ in range(19):
        model.train_step(batch, optim)
    message_hub.update_info('smm_phase', 'adapt')
    model.train_step(batch, optim)
    assert len(warnings) == 1 and 'raise darken_iters' in warnings[0]
    model.train_step(batch, optim)  # once per switch
    assert len(warnings) == 1
    # an alternating schedule (a few darken steps per adapt) never warns
    message_hub.update_info('smm_phase', 'darken')
    model.train_step(batch, optim)
    message_hub.update_info('smm_phase', 'adapt')
    model.train_step(batch, optim)
    assert len(warnings) == 1
