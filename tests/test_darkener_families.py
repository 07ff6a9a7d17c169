"""Curve families of the darkener ablations (brightness, gamma, reciprocal):
the curves against their formulas, their shape (monotone, 0 -> 0, darkening),
the parameter ranges, gradients into the estimation network, a short
exposure-conditioned training, the default darkener unchanged, SMM's stage 1
on a family darkener, and the ablation configs."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmsimmm.models.darkeners import (BrightnessCurve, CurveDarkener,
                                      GammaCurve, ReciprocalCurve)
from mmsimmm.models.darkeners.curve_darkener import (_apply_curve_autograd,
                                                    exposure_as_map)
from mmsimmm.models.losses import ExposureLoss, FlexibilityLoss, LooseTVLoss
from mmsimmm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FAMILIES = ['brightness', 'gamma', 'reciprocal']
TYPES = dict(brightness='mmsimmm.BrightnessCurve',
             gamma='mmsimmm.GammaCurve',
             reciprocal='mmsimmm.ReciprocalCurve')
CLASSES = dict(brightness=BrightnessCurve, gamma=GammaCurve,
               reciprocal=ReciprocalCurve)


def family(name, **kwargs):
    return MODELS.build(dict(type=TYPES[name], **kwargs))


def family_darkener(name, seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(
        dict(type='mmsimmm.CurveDarkener', curve=dict(type=TYPES[name]),
             **kwargs))


def numpy_family(name, x, t):
    """The families' curves written out independently, in float64."""
    if name == 'brightness':
        return (1 - t) * x
    if name == 'gamma':
        return np.power(x, np.power(64.0, t))
    a = np.power(4096.0, t)
    return x / (x + a * (1 - x))


# ----------------------------------------------------------------- curves
@pytest.mark.parametrize('name', FAMILIES)
def test_curve_matches_independent_formula(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2, 3, 5, 7))
    t = rng.uniform(0, 1, (2, 3, 5, 7))
    out = family(name)(torch.from_numpy(x), torch.from_numpy(t))
    np.testing.assert_allclose(out.numpy(), numpy_family(name, x, t),
                               rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize('name', FAMILIES)
def test_curve_is_monotone_keeps_zero_darkens_and_t0_is_identity(name):
    curve = family(name)
    x = torch.linspace(0, 1, 1001, dtype=torch.float64)
    for t in (0.0, 1e-3, 0.2, 0.5, 0.9, 1.0):
        y = curve(x, torch.full_like(x, t))
        assert y[0] == 0, (name, t)
        assert (y[1:] - y[:-1] >= 0).all(), (name, t)
        assert (y <= x).all(), (name, t)
        if t == 0:
            torch.testing.assert_close(y, x)
        else:  # darker wherever the curve can darken (not at 0 or 1)
            assert (y[1:-1] < x[1:-1]).all(), (name, t)
        # gamma and reciprocal keep saturated highlights, brightness not
        assert (y[-1] == 1) == (name != 'brightness' or t == 0), (name, t)
    # stronger is darker, and the strongest setting reaches 8-bit black
    # at 0.9 (every stage-1/2 exposure target is reachable)
    mid = torch.full((1, ), 0.5, dtype=torch.float64)
    levels = [curve(mid, torch.full_like(mid, t)).item()
              for t in (0.1, 0.4, 0.7)]
    assert levels[0] > levels[1] > levels[2]
    bright = torch.full((1, ), 0.9, dtype=torch.float64)
    assert curve(bright, torch.ones_like(bright)).item() < 1 / 255


@pytest.mark.parametrize('name', FAMILIES)
def test_parameter_map_range(name):
    curve = family(name)
    logits = torch.linspace(-40, 40, 801).view(1, 1, 1, -1).expand(1, 3, 2,
                                                                   801)
    strength, beta = curve.curve_maps(logits)
    assert strength.min() >= 0 and strength.max() <= 1
    assert torch.equal(beta, torch.ones_like(strength))
    param = curve.parameter(strength)
    assert (param[..., 1:] - param[..., :-1] != 0).any()
    if name == 'brightness':  # a scale in (0, 1]: 1 is the identity
        assert param.min() >= 0 and param.max() <= 1
        assert param[..., 400].allclose(torch.tensor(0.5))
    else:  # gamma / odds divisor in [1, max]
        maximum = 64.0 if name == 'gamma' else 4096.0
        assert param.min() >= 1 and param.max() <= maximum * (1 + 1e-6)
        assert param[..., 0].allclose(torch.tensor(1.0))
        assert param[..., -1].allclose(torch.tensor(maximum))
        # geometric: the middle strength is the geometric mean
        assert param[..., 400].allclose(torch.tensor(maximum**0.5))


def test_maxima_are_configurable_and_checked():
    x, t = torch.full((1, ), 0.5), torch.ones(1)
    assert family('gamma', max_gamma=2.0)(x, t).item() == pytest.approx(0.25)
    assert family('reciprocal', max_divisor=3.0)(x, t).item() == \
        pytest.approx(0.25)
    with pytest.raises(ValueError, match='GammaCurve: max_gamma must be > 1'):
        family('gamma', max_gamma=1.0)
    with pytest.raises(ValueError, match='ReciprocalCurve: max_divisor'):
        family('reciprocal', max_divisor=0.5)
    with pytest.raises(TypeError, match="curve family.*'ExposureLoss'"):
        MODELS.build(dict(type='mmsimmm.CurveDarkener',
                          curve=dict(type='mmsimmm.ExposureLoss')))


def test_gamma_gradient_is_finite_at_black_pixels():
    x = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)
    t = torch.full_like(x, 0.3, requires_grad=True)
    family('gamma')(x, t).sum().backward()
    assert torch.isfinite(t.grad).all()
    assert t.grad[0] == 0 and t.grad[2] == 0 and t.grad[1] < 0


@pytest.mark.parametrize('name', FAMILIES)
def test_curve_gradients_match_finite_differences(name):
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 4, 4, generator=gen, dtype=torch.float64)
    t = torch.rand(2, 3, 4, 4, generator=gen,
                   dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: family(name)(x, s), (t, ))


# --------------------------------------------------------------- darkener
@pytest.mark.parametrize('name', FAMILIES)
def test_family_darkener_shapes_ranges_and_curve(name):
    darkener = family_darkener(name, scale_factor=2)
    assert isinstance(darkener.curve, CLASSES[name])
    # the same estimation network; its last layer gives 3 maps, not 6
    default = sum(p.numel() for p in CurveDarkener().parameters())
    assert sum(p.numel() for p in darkener.parameters()) == \
        default - 128 * 3 - 3
    img = torch.rand(2, 3, 17, 23)
    exposure = torch.tensor([0.05, 0.4])
    dark, strength, beta = darkener(img, exposure, return_curves=True)
    assert dark.shape == img.shape == strength.shape == beta.shape
    assert ((strength > 0) & (strength < 1)).all()
    assert (beta == 1).all()  # no output scale: flexibility not applicable
    assert FlexibilityLoss(5.0)(beta).item() == 0
    assert (dark <= img + 1e-6).all() and (dark >= 0).all()
    torch.testing.assert_close(dark, darkener.curve(img, strength))
    assert darkener(img, exposure).dtype == img.dtype


@pytest.mark.parametrize('name', FAMILIES)
def test_gradients_reach_every_parameter_of_the_estimation_net(name):
    darkener = family_darkener(name, scale_factor=2)
    img = torch.rand(2, 3, 32, 48)
    img[:, :, :4] = 0  # black pixels (gamma's log) stay finite
    exposure = torch.tensor([0.1, 0.3])
    dark, strength, _ = darkener(img, exposure, return_curves=True)
    loss = ExposureLoss()(dark, exposure) + LooseTVLoss()(strength)
    loss.backward()
    for param_name, param in darkener.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all()
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize('name', FAMILIES)
def test_exposure_loss_training_makes_the_darkener_follow_its_exposure(name):
    """A few dozen Adam steps on tiny random images: the mean brightness of
    D(I, E) moves to E, and a lower E gives a darker image."""
    darkener = family_darkener(name, channels=16, scale_factor=1)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(8, 3, 12, 12, generator=gen)
    probe = torch.tensor([0.05, 0.25, 0.45])

    def error():
        with torch.no_grad():
            means = torch.stack([
                darkener(images, float(e)).mean() for e in probe])
        return (means - probe).abs().mean().item(), means

    error_before, _ = error()
    loss_fn = ExposureLoss(loss_weight=10.0)
    optimizer = torch.optim.Adam(darkener.parameters(), lr=1e-2)
    for _ in range(150):
        exposure = 0.5 * torch.rand(8, generator=gen)
        loss = loss_fn(darkener(images, exposure), exposure)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    error_after, means = error()
    # measured: 0.14 -> 0.02 (brightness), 0.18 -> 0.07 (gamma: slowest,
    # pixels near 0 and 1 barely move), 0.20 -> 0.02 (reciprocal)
    assert error_after < 0.5 * error_before, (error_before, error_after)
    assert error_after < 0.08, means
    assert means[0] < means[1] < means[2] and means[2] - means[0] > 0.2


def test_default_darkener_output_is_bit_identical_to_the_paper_curve():
    """curve=None (the default) is the quadratic curve as before families
    existed: recomputed here from the body, tanh / sigmoid and the formula."""
    torch.manual_seed(0)
    darkener = CurveDarkener()
    assert darkener.curve is None
    assert darkener.conv7[1].out_channels == 6
    assert sum(p.numel() for p in darkener.parameters()) == 40686
    img = torch.rand(2, 3, 36, 52)
    exposure = torch.tensor([0.1, 0.35])
    small = F.interpolate(img, size=darkener.estimation_size((36, 52)),
                          mode='bilinear', align_corners=False,
                          antialias=True)
    with torch.no_grad():
        curves = darkener._estimate(
            torch.cat([small, exposure_as_map(exposure, small)], 1))
        curves = F.interpolate(curves, size=(36, 52), mode='bilinear',
                               align_corners=False)
        alpha = torch.tanh(curves[:, :3])
        beta = 0.95 + 0.05 * torch.sigmoid(curves[:, 3:])
        expected = _apply_curve_autograd(img, alpha, beta, 8)
        assert torch.equal(darkener(img, exposure), expected)
    dark, a, b = darkener(img, exposure, return_curves=True)
    assert torch.equal(dark, expected)
    assert torch.equal(a, alpha) and torch.equal(b, beta)


# ------------------------------------------------------ SMM integration
def test_stage1_on_a_family_darkener_trains_only_the_darkener(message_hub):
    from test_cls_smm import build, tiny_cls_smm, two_view_batch
    from test_sim_min_max import build_optim, changed, snapshot
    model = build(tiny_cls_smm(darkener=dict(
        type='mmsimmm.CurveDarkener', scale_factor=2,
        curve=dict(type='mmsimmm.GammaCurve'))))
    model.train()
    optim = build_optim(model)
    message_hub.update_info('smm_phase', 'darken')
    before = snapshot(model)
    log_vars = model.train_step(two_view_batch(), optim)
    assert {'darken.loss_sim', 'darken.loss_tv', 'darken.loss_exposure',
            'darken.loss_color'} <= set(log_vars)
    assert log_vars['darken.loss_tv'] > 0
    assert log_vars['darken.loss_flex'] == 0  # B = 1: not applicable
    assert {k.split('.')[0] for k in changed(before, model)} == {'darkener'}
    message_hub.update_info('smm_phase', 'adapt')
    before = snapshot(model)
    model.train_step(two_view_batch(), optim)
    assert 'darkener' not in {k.split('.')[0] for k in changed(before, model)}


# ----------------------------------------------------------------- configs
CONFIGS = [
    (task, name) for task in ('streets', 'objects') for name in FAMILIES
]


def _config(task, name):
    folder = ('configs/demo/ablations' if task == 'streets' else
              'configs/demo/cls/ablations')
    return Config.fromfile(
        osp.join(ROOT, folder, f'{task}_smm_darkener_{name}.py'))


def _base_config(task):
    path = ('configs/demo/synthetic_streets_simmm.py' if task == 'streets'
            else 'configs/demo/cls/objects_simmm.py')
    return Config.fromfile(osp.join(ROOT, path))


@pytest.mark.parametrize('task,name', CONFIGS)
def test_ablation_config_changes_only_the_darkener_curve(task, name):
    cfg, base = _config(task, name), _base_config(task)
    mine, theirs = copy.deepcopy(cfg.to_dict()), base.to_dict()
    curve = mine['model']['darkener'].pop('curve')
    assert curve == dict(type=TYPES[name])
    assert mine == theirs
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        darkener = MODELS.build(cfg.model.darkener)
    assert isinstance(darkener, CurveDarkener)
    assert isinstance(darkener.curve, CLASSES[name])


@pytest.mark.parametrize('task', ['streets', 'objects'])
def test_ablation_configs_build_their_smm_model(task):
    """The whole SMM model of each config (one task at a time: a build
    costs about a second)."""
    for name in FAMILIES:
        cfg = _config(task, name)
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            model = MODELS.build(cfg.model)
        assert type(model).__name__ == 'SimMinMax'
        assert isinstance(model.darkener.curve, CLASSES[name])
        assert model.darkener.conv7[1].out_channels == 3
