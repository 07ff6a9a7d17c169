"""The stage-2 darkened view: exposure-map sampling (patch grid, resolution),
sensor noise, 8-bit quantisation and per-rank randomness."""
import math
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmsimmm.models.utils import (LowLightSensorNoise, NightExposureSampler,
                                  quantize_8bit)
from mmsimmm.models.utils.sensor_noise import linear_to_srgb, srgb_to_linear
from mmsimmm.registry import MODELS

from conftest import tiny_smm_cfg


def test_patch_noise_is_a_floor_grid_resized_bilinearly():
    """Reference: randn(N, 1, H // p, W // p) resized bilinearly to (H, W)."""
    sampler = NightExposureSampler(
        exposure_range=(0.5, 0.5), pixel_noise_std=0.0, patch_noise_std=0.1,
        patch_size=16)
    assert sampler.patch_grid((100, 70)) == (6, 4)
    gen = torch.Generator().manual_seed(3)
    exposure = sampler(2, (100, 70), generator=gen)
    # the same draws, made independently
    gen = torch.Generator().manual_seed(3)
    torch.rand(2, 1, 1, 1, generator=gen)
    torch.randn(2, 1, 100, 70, generator=gen)
    grid = torch.randn(2, 1, 6, 4, generator=gen)
    expected = 0.5 + 0.1 * F.interpolate(
        grid, size=(100, 70), mode='bilinear', align_corners=False)
    torch.testing.assert_close(exposure, expected.clamp(min=0))
    # bilinear, not blocky: no jumps of a full patch-noise step
    steps = (exposure[..., 1:] - exposure[..., :-1]).abs()
    assert steps.max() < 0.1 * 0.5


def test_exposure_sampled_at_estimation_resolution_keeps_pixel_sigma():
    sampler = NightExposureSampler(
        exposure_range=(0.3, 0.3), patch_noise_std=0.0, patch_size=64)
    gen = torch.Generator().manual_seed(0)
    small = sampler(8, (256, 512), generator=gen, out_size=(64, 128))
    assert small.shape == (8, 1, 64, 128)
    np.testing.assert_allclose(small.std().item(), 0.025, rtol=0.05)
    # what the old path did: full-resolution map resized to the estimation
    # size loses about half of the per-pixel sigma
    full = sampler(8, (256, 512), generator=gen)
    resized = F.interpolate(full, size=(64, 128), mode='bilinear',
                            align_corners=False)
    assert resized.std().item() < 0.6 * 0.025


def test_srgb_round_trip_and_quantization():
    x = torch.linspace(0, 1, 1001)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x,
                               atol=1e-5, rtol=0)
    q = quantize_8bit(torch.tensor([0.0, 0.5 / 255 - 1e-4, 0.5 / 255 + 1e-4,
                                    1.2, -0.1]))
    torch.testing.assert_close(q, torch.tensor([0, 0, 1 / 255, 1, 0.]))


def test_sensor_noise_variance_matches_poisson_gaussian():
    noise = MODELS.build(dict(type='mmsimmm.LowLightSensorNoise',
                              shot_range=(4e-3, 4e-3),
                              read_line=(0.0, math.log(1e-4), 0.0)))
    level = 0.3  # sRGB
    img = torch.full((4, 3, 64, 64), level)
    out = noise(img, torch.Generator().manual_seed(0))
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 1
    # independent computation in linear space: var = shot * x + read
    linear_in = ((level + 0.055) / 1.055)**2.4
    linear_out = srgb_to_linear(out)
    np.testing.assert_allclose(linear_out.mean().item(), linear_in,
                               rtol=0.02)
    np.testing.assert_allclose(linear_out.std().item(),
                               math.sqrt(4e-3 * linear_in + 1e-4), rtol=0.03)
    # noise is independent per channel and pixel
    corr = np.corrcoef(linear_out[:, 0].flatten().numpy(),
                       linear_out[:, 1].flatten().numpy())[0, 1]
    assert abs(corr) < 0.05


def test_sensor_noise_priors_and_prob():
    noise = LowLightSensorNoise(prob=0.5)
    shot, read = noise.sample_levels(4000, generator=torch.Generator()
                                     .manual_seed(1))
    noisy = shot.flatten() > 0
    assert 0.45 < noisy.float().mean() < 0.55
    assert (read.flatten()[~noisy] == 0).all()
    log_shot = shot.flatten()[noisy].log()
    assert log_shot.min() >= math.log(1e-4) - 1e-6
    assert log_shot.max() <= math.log(1.2e-2) + 1e-6
    residual = read.flatten()[noisy].log() - (2.18 * log_shot + 1.20)
    np.testing.assert_allclose(residual.std().item(), 0.26, rtol=0.1)
    clean = LowLightSensorNoise(prob=0.0)
    img = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(clean(img), img, atol=2e-6, rtol=0)
    with pytest.raises(ValueError, match='shot_range'):
        LowLightSensorNoise(shot_range=(0, 1))


def _smm(**kwargs):
    return MODELS.build(tiny_smm_cfg(**kwargs))


def test_darken_view_noise_and_quantization():
    # a smooth day image: any pixel-to-pixel roughness comes from the noise
    ramp = torch.linspace(0.2, 0.6, 64)
    day = ramp.expand(2, 3, 32, 64).clone()
    plain = _smm()
    noisy = _smm(
                 dark_noise=dict(type='mmsimmm.LowLightSensorNoise'),
                 quantize_dark=True)
    noisy.darkener.load_state_dict(plain.darkener.state_dict())
    clean = plain.darken_view(day, torch.Generator().manual_seed(0))
    dark = noisy.darken_view(day, torch.Generator().manual_seed(0))
    # 8-bit levels
    torch.testing.assert_close(dark * 255, (dark * 255).round(), atol=1e-4,
                               rtol=0)
    # noise: high-frequency energy the clean (smooth-curve) view lacks
    def roughness(x):
        return (x[..., 1:] - x[..., :-1]).abs().mean().item()
    assert roughness(dark) > roughness(clean) + 0.005
    np.testing.assert_allclose(dark.mean().item(), clean.mean().item(),
                               atol=0.03)


def test_step_randomness_differs_between_ranks(message_hub):
    smm = _smm()
    message_hub.update_info('iter', 5)
    target = 'mmsimmm.models.algorithms.sim_min_max.get_rank'
    draws = {}
    for rank in (0, 1):
        with mock.patch(target, return_value=rank):
            draws[rank] = torch.rand(4, generator=smm._generator(
                torch.device('cpu')))
            again = torch.rand(4, generator=smm._generator(
                torch.device('cpu')))
        torch.testing.assert_close(draws[rank], again)  # exact on resume
    assert not torch.equal(draws[0], draws[1])
