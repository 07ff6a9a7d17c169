import numpy as np
import pytest
import torch

from mmsimmm.models import apply_curve
from mmsimmm.models.darkeners.curve_darkener import (_apply_curve_autograd,
                                                    _CurveFunction)
from mmsimmm.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='mmsimmm.CurveDarkener', **kwargs))


def numpy_curve(img, alpha, beta, rounds):
    y = img * beta
    for _ in range(rounds):
        y = y + alpha * (y**2 - y)
    return y / beta


def test_parameter_count_matches_reference_architecture():
    darkener = build()
    # 8 depthwise-separable convs: 4->64, 4x 64->64, 3x 128->(64, 64, 6)
    dw_pw = lambda c_in, c_out: c_in * 9 + c_in + c_in * c_out + c_out  # noqa
    expected = dw_pw(4, 64) + 4 * dw_pw(64, 64) + 2 * dw_pw(128, 64) + \
        dw_pw(128, 6)
    assert sum(p.numel() for p in darkener.parameters()) == expected == 40686


def test_apply_curve_matches_independent_computation():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, (2, 3, 5, 7))
    alpha = rng.uniform(-1, 1, (2, 3, 5, 7))
    beta = rng.uniform(0.95, 1, (2, 3, 5, 7))
    out = apply_curve(*map(torch.from_numpy, (img, alpha, beta)), rounds=8)
    np.testing.assert_allclose(
        out.numpy(), numpy_curve(img, alpha, beta, 8), rtol=1e-12)


@pytest.mark.parametrize('scale_factor', [1, 2, 4])
@pytest.mark.parametrize('size', [(17, 23), (32, 64)])
def test_forward_shapes_ranges_and_curve_consistency(scale_factor, size):
    torch.manual_seed(0)
    darkener = build(scale_factor=scale_factor)
    img = torch.rand(3, 3, *size)
    exposure = torch.tensor([0.0, 0.2, 0.5])
    dark, alpha, beta = darkener(img, exposure, return_curves=True)
    assert dark.shape == img.shape == alpha.shape == beta.shape
    assert alpha.abs().max() <= 1 and beta.min() >= 0.95 and beta.max() <= 1
    a2, b2 = darkener.curve_params(img, exposure)
    torch.testing.assert_close(dark, apply_curve(img, a2, b2, 8))


def test_exposure_per_sample_equals_constant_map():
    darkener = build(scale_factor=2)
    img = torch.rand(2, 3, 16, 24)
    exposure = torch.tensor([0.1, 0.4])
    as_map = exposure.view(2, 1, 1, 1).expand(2, 1, 16, 24).clone()
    torch.testing.assert_close(darkener(img, exposure), darkener(img, as_map))
    with pytest.raises(ValueError, match='exposure'):
        darkener(img, torch.rand(2, 3, 16, 24))


def test_exposure_conditions_the_output():
    torch.manual_seed(0)
    darkener = build(scale_factor=1)
    torch.nn.init.normal_(darkener.conv0[1].weight, std=1.0)
    img = torch.rand(1, 3, 16, 16)
    assert not torch.allclose(darkener(img, 0.0), darkener(img, 0.5))


def test_video_frames_flattened_into_batch():
    darkener = build()
    clip = torch.rand(2, 3, 4, 16, 16)  # N, C, T, H, W
    frames = clip.permute(0, 2, 1, 3, 4).reshape(8, 3, 16, 16)
    out = darkener(frames, torch.rand(8))
    assert out.shape == frames.shape
    with pytest.raises(ValueError, match='RGB images'):
        darkener(clip, torch.rand(2))


@pytest.mark.parametrize('scale_factor', [2, 4])
def test_gradients_flow_through_upsampling_to_every_parameter(scale_factor):
    torch.manual_seed(0)
    darkener = build(scale_factor=scale_factor)
    img = torch.rand(2, 3, 32, 48)
    darkener(img, torch.tensor([0.1, 0.3])).mean().backward()
    for name, param in darkener.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_scale_factor_equals_full_resolution_when_curves_are_constant():
    torch.manual_seed(0)
    low, full = build(scale_factor=4), build(scale_factor=1)
    full.load_state_dict(low.state_dict())
    for darkener in (low, full):
        last = darkener.conv7[1]
        torch.nn.init.zeros_(last.weight)
        last.bias.data = torch.tensor([0.3, -0.2, 0.5, 1.0, -1.0, 0.0])
    img = torch.rand(2, 3, 37, 53)
    torch.testing.assert_close(low(img, 0.2), full(img, 0.2))
    with pytest.raises(ValueError, match='scale_factor'):
        build(scale_factor=0)


def test_output_follows_input_device_and_dtype():
    darkener = build().to(torch.float64)
    img = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    assert darkener(img, 0.1).dtype == torch.float64
    assert darkener(img, 0.1).device == img.device


def _curves(shape, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(shape, generator=gen, dtype=dtype)
    alpha = torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1
    beta = 0.95 + 0.05 * torch.rand(shape, generator=gen, dtype=dtype)
    return img, alpha, beta


def test_in_place_curve_is_bit_identical_to_the_formula():
    img, alpha, beta = _curves((2, 3, 9, 11), torch.float32)
    reference = _apply_curve_autograd(img, alpha, beta, 8)
    with torch.no_grad():
        assert torch.equal(apply_curve(img, alpha, beta, 8), reference)
        # broadcast curves (N, 3, 1, 1) and a wider alpha than img
        a, b = alpha[:, :, :1, :1], beta[:, :, :1, :1]
        assert torch.equal(apply_curve(img, a, b), _apply_curve_autograd(
            img, a, b, 8))
        assert torch.equal(apply_curve(img[:1], alpha, beta[:1]),
                           _apply_curve_autograd(img[:1], alpha, beta[:1], 8))
    # inputs are left untouched
    assert torch.equal(img, _curves((2, 3, 9, 11), torch.float32)[0])


def test_fused_curve_backward_matches_autograd():
    img, alpha, beta = _curves((2, 3, 5, 7))
    inputs = [t.clone().requires_grad_() for t in (img, alpha, beta)]
    assert torch.autograd.gradcheck(
        lambda *x: _CurveFunction.apply(*x, 8), inputs)
    # float32: same forward bits, gradients equal to autograd's up to rounding
    img, alpha, beta = _curves((2, 3, 16, 16), torch.float32)
    alpha.requires_grad_()
    beta.requires_grad_()
    fused = apply_curve(img, alpha, beta, 8)
    plain = _apply_curve_autograd(img, alpha, beta, 8)
    assert type(fused.grad_fn).__name__ == '_CurveFunctionBackward'
    assert torch.equal(fused, plain)
    weight = torch.randn_like(fused)
    for got, want in zip(
            torch.autograd.grad((fused * weight).sum(), (alpha, beta)),
            torch.autograd.grad((plain * weight).sum(), (alpha, beta))):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
