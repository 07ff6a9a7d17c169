import numpy as np
import pytest
import torch
import torch.nn as nn

from mmsimmm.registry import MODELS


def test_projector_pooled_mlp_structure_and_shapes():
    proj = MODELS.build(dict(type='mmsimmm.BYOLProjector', in_channels=512))
    mlp = proj.branches[0][-1]
    assert [type(m) for m in mlp] == [
        nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear
    ]
    assert (mlp[0].in_features, mlp[0].out_features) == (512, 128)
    assert (mlp[3].in_features, mlp[3].out_features) == (128, 128)
    out = proj(torch.randn(4, 512))
    assert len(out) == 1 and out[0].shape == (4, 128)
    # a map is pooled first, equal to feeding its mean vector
    proj.eval()
    fmap = torch.randn(4, 512, 3, 3)
    torch.testing.assert_close(
        proj(fmap)[0], proj(fmap.mean(dim=(2, 3)))[0])


def test_dense_projector_one_branch_per_stage():
    channels = [8, 16, 32, 64]
    proj = MODELS.build(
        dict(type='mmsimmm.BYOLProjector', in_channels=channels, dense=True))
    assert len(proj.branches) == 4
    conv, bn = proj.branches[2][0], proj.branches[2][1]
    assert conv.kernel_size == (3, 3) and conv.in_channels == 32
    assert conv.out_channels == 64 and isinstance(bn, nn.BatchNorm2d)
    feats = [torch.randn(2, c, 32 // 2**i, 16 // 2**i)
             for i, c in enumerate(channels)]
    out = proj(feats)
    assert [o.shape for o in out] == [(2, 128)] * 4
    with pytest.raises(ValueError, match='4 branches but got 1'):
        proj(feats[:1])


def test_predictor():
    pred = MODELS.build(dict(type='mmsimmm.BYOLPredictor', num_branches=2))
    out = pred([torch.randn(3, 128), torch.randn(3, 128)])
    assert [o.shape for o in out] == [(3, 128)] * 2
    assert sum(p.numel() for p in pred.branches[0].parameters()) == \
        128 * 128 + 128 + 2 * 128 + 128 * 128 + 128


def test_night_exposure_sampler_statistics():
    sampler = MODELS.build(
        dict(type='mmsimmm.NightExposureSampler', patch_size=16))
    gen = torch.Generator().manual_seed(0)
    exposure = sampler(256, (64, 96), generator=gen)
    assert exposure.shape == (256, 1, 64, 96) and exposure.min() >= 0
    # per-sample level ~ U(0, 0.2): image means spread over [0, 0.2]
    means = exposure.mean(dim=(1, 2, 3))
    assert means.min() < 0.03 and means.max() > 0.17
    assert (means > -0.01).all() and (means < 0.21).all()
    # pixel noise alone: the difference of neighbouring pixels has
    # sigma sqrt(2) * 0.025 (the bilinear patch noise barely changes
    # between neighbours); the patch noise adds 0.025 across patches
    sample = exposure[means.argmax()][0]  # far from the 0 clamp
    neighbours = (sample[:, 1:] - sample[:, :-1]).flatten()
    np.testing.assert_allclose(
        neighbours.std().item(), 2**0.5 * 0.025, rtol=0.15)
    patch_means = sample.reshape(4, 16, 6, 16).mean(dim=(1, 3))
    np.testing.assert_allclose(patch_means.std().item(), 0.025, rtol=0.5)
    # deterministic given the generator
    again = sampler(256, (64, 96), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(exposure, again)


def test_night_exposure_sampler_non_divisible_size():
    sampler = MODELS.build(
        dict(type='mmsimmm.NightExposureSampler', patch_size=64))
    assert sampler(2, (100, 130)).shape == (2, 1, 100, 130)


def test_light_pools_add_gaussian_pools_of_light():
    noiseless = dict(type='mmsimmm.NightExposureSampler', pixel_noise_std=0,
                     patch_noise_std=0, exposure_range=(0.05, 0.05))
    plain = MODELS.build(noiseless)(8, (32, 64))
    assert torch.allclose(plain, torch.full_like(plain, 0.05))
    # one pool of fixed radius and peak: an independent Gaussian around
    # its brightest pixel
    sampler = MODELS.build(dict(noiseless, light_pools=dict(
        max_num=1, radius_range=(0.1, 0.1), peak_range=(0.4, 0.4))))
    maps = sampler(64, (32, 64), generator=torch.Generator().manual_seed(1))
    pools = maps - 0.05
    has_pool = pools.amax(dim=(1, 2, 3)) > 0.3
    # 0 or 1 pool per image, uniformly: both occur
    assert 10 < int(has_pool.sum()) < 54
    assert torch.all(pools[~has_pool].abs() < 1e-6)
    one = pools[has_pool][0, 0]
    cy, cx = divmod(int(one.argmax()), 64)
    ys, xs = torch.meshgrid(torch.arange(32) + 0.5, torch.arange(64) + 0.5,
                            indexing='ij')
    # the centre lies inside the brightest pixel: compare away from it
    expected = 0.4 * torch.exp(-((ys - cy - 0.5)**2 + (xs - cx - 0.5)**2) /
                               (2 * 6.4**2))
    np.testing.assert_allclose(one.numpy(), expected.numpy(), atol=0.03)
    # pools only add light
    noisy = MODELS.build(dict(type='mmsimmm.NightExposureSampler',
                              light_pools=dict()))
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    base = MODELS.build(dict(type='mmsimmm.NightExposureSampler'))
    assert noisy(16, (32, 64), generator=gen()).mean() > base(
        16, (32, 64), generator=gen()).mean()


def test_light_pools_bad_settings_are_one_line_errors():
    with pytest.raises(KeyError, match="unknown key 'radius'"):
        MODELS.build(dict(type='mmsimmm.NightExposureSampler',
                          light_pools=dict(radius=0.1)))
    with pytest.raises(ValueError, match='peak_range'):
        MODELS.build(dict(type='mmsimmm.NightExposureSampler',
                          light_pools=dict(peak_range=(0.5, 0.1))))
