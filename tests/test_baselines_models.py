"""CIConv and MixStyle baselines (issue 14): values against independent
numpy / closed-form computations, gain invariance, train-only mixing, and
which parameters get gradients."""
import copy
import math

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from mmsimmm.models.baselines import (CIConv2d, MixStyle, add_mixstyle,
                                      gaussian_derivative_filters)
from mmsimmm.registry import MODELS


def _tiny_resnet_cfg(**kwargs):
    cfg = dict(type='ResNetV1c', depth=18, base_channels=8, stem_channels=8,
               num_stages=4, out_indices=(0, 1, 2, 3),
               norm_cfg=dict(type='BN', requires_grad=True))
    cfg.update(kwargs)
    return cfg


def _textured_rgb(n=2, size=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, size // 4, size // 4, generator=gen)
    smooth = torch.nn.functional.interpolate(base, size=(size, size),
                                             mode='bilinear')
    return 0.05 + 0.9 * smooth  # strictly positive, like a real image


# ----------------------------------------------------------------- CIConv

def _numpy_filters(log2_sigma):
    """The authors' gaussian_basis_filters, in numpy."""
    std = 2.0**log2_sigma
    size = math.ceil(3 * std + 0.5)
    x = np.arange(-size, size + 1, dtype=np.float64)
    x0, x1 = np.meshgrid(x, x, indexing='ij')
    envelope = np.exp(-(x0 / std)**2 / 2) * np.exp(-(x1 / std)**2 / 2)
    g = envelope / envelope.sum()
    dgdx = -x0 / (std**3 * 2 * np.pi) * envelope
    dgdy = -x1 / (std**3 * 2 * np.pi) * envelope
    return np.stack([g, dgdx / np.abs(dgdx).sum(), dgdy / np.abs(dgdy).sum()])


def _numpy_w_invariant(rgb, log2_sigma):
    """W invariant of the authors' code, recomputed in float64 numpy."""
    gcm = np.array([[0.06, 0.63, 0.27], [0.3, 0.04, -0.35],
                    [0.34, -0.6, 0.17]])
    filters = _numpy_filters(log2_sigma)
    half = filters.shape[-1] // 2
    eps = 1e-5
    outputs = []
    for image in rgb:
        colour = np.einsum('oc,chw->ohw', gcm, image)
        padded = np.pad(colour, ((0, 0), (half, half), (half, half)))
        windows = np.lib.stride_tricks.sliding_window_view(
            padded, filters.shape[1:], axis=(1, 2))
        # (E|El|Ell, smooth|dx|dy, H, W): cross-correlation like conv2d
        resp = np.einsum('chwij,fij->cfhw', windows, filters)
        w = sum((resp[c, d] / (resp[0, 0] + eps))**2 for c in range(3)
                for d in (1, 2))
        logw = np.log(w + eps)
        outputs.append((logw - logw.mean()) / np.sqrt(logw.var() + 1e-5))
    return np.stack(outputs)[:, None]


def test_gaussian_filters_match_numpy():
    filters = gaussian_derivative_filters(torch.tensor([0.5]))
    expected = _numpy_filters(0.5)
    assert filters.shape == (3, 1) + expected.shape[1:]
    np.testing.assert_allclose(filters[:, 0].numpy(), expected, atol=1e-6)
    assert filters[0].sum().item() == pytest.approx(1.0)
    assert filters[1].abs().sum().item() == pytest.approx(1.0)


def test_ciconv_matches_numpy_reference():
    rgb = _textured_rgb(n=2, size=16)
    layer = CIConv2d(scale=0.3)
    out = layer(rgb)
    assert out.shape == (2, 1, 16, 16)
    expected = _numpy_w_invariant(rgb.double().numpy(), 0.3)
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=2e-3)


def test_ciconv_is_invariant_to_a_per_image_gain():
    rgb = _textured_rgb(n=2, size=32, seed=1)
    gain = torch.tensor([0.1, 3.0]).view(2, 1, 1, 1)
    layer = CIConv2d(scale=0.0)
    out, out_scaled = layer(rgb), layer(rgb * gain)
    assert (out - out_scaled).abs().max() < 5e-3
    # not trivially constant: the output depends on the image's structure
    assert (out[0] - out[1]).abs().max() > 0.5
    assert (out - layer(rgb.flip(1))).abs().max() > 0.1  # colour matters


def test_ciconv_scale_learns_and_is_clamped():
    rgb = _textured_rgb(n=2, size=16, seed=2)
    weights = torch.randn(2, 1, 16, 16, generator=torch.Generator()
                          .manual_seed(0))
    layer = CIConv2d(scale=0.2)
    loss = (layer(rgb) * weights).sum()
    loss.backward()
    grad = layer.scale.grad.item()
    # finite difference (the filter support does not change within +-h)
    step = 1e-3
    with torch.no_grad():
        losses = []
        for delta in (step, -step):
            probe = CIConv2d(scale=0.2 + delta)
            losses.append((probe(rgb.double()) * weights.double()).sum())
    assert grad != 0 and math.isfinite(grad)
    assert grad == pytest.approx(
        ((losses[0] - losses[1]) / (2 * step)).item(), rel=2e-2, abs=1e-3)

    with torch.no_grad():
        layer.scale.fill_(4.0)
    layer(rgb)
    assert layer.scale.item() == 2.5
    with pytest.raises(ValueError, match='CIConv2d: expected RGB'):
        layer(rgb[:, :2])
    with pytest.raises(ValueError, match='CIConv2d: scale='):
        CIConv2d(scale=3.0)


@pytest.mark.parametrize('in_channels', [None, 3])
def test_ciconv_backbone(in_channels):
    extra = {} if in_channels is None else dict(in_channels=in_channels)
    with DefaultScope.overwrite_default_scope('mmseg'):
        backbone = MODELS.build(
            dict(type='mmsimmm.CIConvBackbone',
                 backbone=_tiny_resnet_cfg(**extra)))
    backbone.init_weights()
    stem_conv = backbone.backbone.stem[0]
    assert stem_conv.in_channels == (in_channels or 1)
    backbone.eval()
    rgb = _textured_rgb(n=2, size=32, seed=3)
    with torch.no_grad():
        outs = backbone(rgb)
        outs_scaled = backbone(rgb * 0.2)
    assert [o.shape[1] for o in outs] == [8, 16, 32, 64]
    for a, b in zip(outs, outs_scaled):
        assert (a - b).abs().max() < 1e-2 * a.abs().max()
    backbone.train()
    sum(o.mean() for o in backbone(rgb)).backward()
    assert backbone.ciconv.scale.grad is not None
    assert backbone.ciconv.scale.grad.abs().item() > 0
    assert {'ciconv.scale', 'backbone.stem.0.weight'} <= {
        k for k, _ in backbone.named_parameters()}


def test_ciconv_backbone_bad_config():
    with pytest.raises(TypeError, match='CIConvBackbone: backbone must be'):
        MODELS.build(dict(type='mmsimmm.CIConvBackbone', backbone='resnet'))


# --------------------------------------------------------------- MixStyle

def _features(seed=0):
    gen = torch.Generator().manual_seed(seed)
    scale = torch.rand(4, 6, 1, 1, generator=gen) * 3 + 0.5
    shift = torch.randn(4, 6, 1, 1, generator=gen) * 2
    return torch.randn(4, 6, 5, 7, generator=gen) * scale + shift


def test_mixstyle_is_identity_in_eval_and_at_p0():
    x = _features()
    mix = MixStyle(p=1.0).eval()
    assert mix(x) is x
    assert MixStyle(p=0.0).train()(x) is x


def test_mixstyle_mixes_statistics_in_training():
    x = _features(seed=1)
    mix = MixStyle(p=1.0, alpha=0.1).train()
    torch.manual_seed(3)  # a draw that pairs every sample with another
    out = mix(x)
    # the draws of the documented order, replayed
    torch.manual_seed(3)
    torch.rand(())
    lam = torch.distributions.Beta(0.1, 0.1).sample((4, 1, 1, 1))
    perm = torch.randperm(4)
    mu = x.mean(dim=(2, 3), keepdim=True)
    sigma = (x.var(dim=(2, 3), keepdim=True) + 1e-6).sqrt()
    out_mu = out.mean(dim=(2, 3), keepdim=True)
    out_sigma = out.var(dim=(2, 3), keepdim=True).sqrt()
    torch.testing.assert_close(out_mu, lam * mu + (1 - lam) * mu[perm],
                               atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_sigma,
                               lam * sigma + (1 - lam) * sigma[perm],
                               atol=1e-3, rtol=1e-3)
    # every sample's statistics move towards its partner's (or stay)
    moved = (out_mu - mu[perm]).abs() <= (mu - mu[perm]).abs() + 1e-5
    assert moved.all()
    assert not torch.allclose(out, x)
    assert (perm != torch.arange(4)).any()


def test_mixstyle_gradient():
    x = _features(seed=2).requires_grad_()
    mix = MixStyle(p=1.0).train()
    torch.manual_seed(3)
    mix(x).sum().backward()
    # statistics are detached, so d out / d x = sigma_mix / sigma per channel
    torch.manual_seed(3)
    torch.rand(())
    lam = torch.distributions.Beta(0.1, 0.1).sample((4, 1, 1, 1))
    perm = torch.randperm(4)
    sigma = (x.detach().var(dim=(2, 3), keepdim=True) + 1e-6).sqrt()
    expected = (lam * sigma + (1 - lam) * sigma[perm]) / sigma
    torch.testing.assert_close(x.grad, expected.expand_as(x))


def test_mixstyle_backbone_keeps_checkpoints_and_mixes_in_training():
    with DefaultScope.overwrite_default_scope('mmseg'):
        plain = MODELS.build(_tiny_resnet_cfg())
        mixed = MODELS.build(
            dict(type='mmsimmm.MixStyleBackbone',
                 backbone=_tiny_resnet_cfg(), after_stages=('layer1',
                                                            'layer2'),
                 p=1.0))
    assert type(mixed) is type(plain)
    assert mixed.state_dict().keys() == plain.state_dict().keys()
    mixed.load_state_dict(plain.state_dict(), strict=True)
    assert isinstance(mixed.mixstyle_layer1, MixStyle)
    x = _textured_rgb(n=4, size=32, seed=4)
    plain.eval()
    mixed.eval()
    with torch.no_grad():
        for a, b in zip(plain(x), mixed(x)):
            torch.testing.assert_close(a, b)  # eval: untouched
    plain.train()
    mixed.train()
    torch.manual_seed(0)
    outs = mixed(x)
    assert not torch.allclose(outs[0], plain(x)[0], atol=1e-4)
    outs[-1].mean().backward()
    assert all(p.grad is not None for p in mixed.parameters()
               if p.requires_grad)
    # a deep copy (e.g. an EMA target) hooks its own MixStyle layers
    target = copy.deepcopy(mixed)
    target.eval()  # (mmseg's ResNet.train returns None) mixed stays train
    with torch.no_grad():
        target_outs = target(x)
        mixed.eval()
        for a, b in zip(mixed(x), target_outs):
            torch.testing.assert_close(a, b)


def test_mixstyle_backbone_bad_stage_name():
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(KeyError, match="no module 'layer9'"):
            MODELS.build(dict(type='mmsimmm.MixStyleBackbone',
                              backbone=_tiny_resnet_cfg(),
                              after_stages=('layer9', )))
    with pytest.raises(ValueError, match='after_stages must be'):
        add_mixstyle(torch.nn.Linear(2, 2), after_stages='layer1')


def test_wrappers_around_an_mmpretrain_resnet():
    """The same wrappers serve classification (mmpretrain's ResNet)."""
    resnet = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                  out_indices=(3, ))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ciconv = MODELS.build(dict(type='mmsimmm.CIConvBackbone',
                                   backbone=resnet))
        mixed = MODELS.build(dict(type='mmsimmm.MixStyleBackbone',
                                  backbone=resnet, p=1.0))
        plain = MODELS.build(resnet)
    mixed.load_state_dict(plain.state_dict(), strict=True)
    x = _textured_rgb(n=2, size=32, seed=5)
    ciconv.eval()
    with torch.no_grad():
        out, out_dark = ciconv(x)[0], ciconv(x * 0.1)[0]
    assert ciconv.backbone.conv1.in_channels == 1 and out.shape[1] == 64
    assert (out - out_dark).abs().max() < 1e-2 * out.abs().max()
    mixed.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(mixed(x)[0], plain(x)[0])
    mixed.train()
    plain.train()
    torch.manual_seed(0)
    with torch.no_grad():
        assert not torch.allclose(mixed(x)[0], plain(x)[0], atol=1e-4)
