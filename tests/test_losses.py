"""Each loss against an independent (numpy, loop-based) computation of the
formula in METHOD.md."""
import numpy as np
import pytest
import torch

from mmsimmm.registry import MODELS

RNG = np.random.default_rng(0)


def build(type_, **kwargs):
    return MODELS.build(dict(type=f'mmsimmm.{type_}', **kwargs))


def reference_loose_tv(alpha, a=0.02):
    """The reference code's form: 2/N (sum t_h/((H-1)W) + sum t_w/(H(W-1)))."""
    n, _, h, w = alpha.shape
    t = lambda d: np.clip(a - np.abs(np.abs(d) - a), 0, 1)**2  # noqa
    t_h = t(alpha[:, :, 1:, :] - alpha[:, :, :-1, :]).sum()
    t_w = t(alpha[:, :, :, 1:] - alpha[:, :, :, :-1]).sum()
    return 2 / n * (t_h / ((h - 1) * w) + t_w / (h * (w - 1)))


def test_loose_tv_matches_reference_and_is_loose():
    # differences around the margin exercise all three regimes
    alpha = RNG.normal(0, 0.03, (2, 3, 6, 9))
    loss = build('LooseTVLoss', loss_weight=1600.0)
    value = loss(torch.from_numpy(alpha))
    np.testing.assert_allclose(value.item(), 1600 * reference_loose_tv(alpha))
    assert loss.margin == 0.02
    # a single step edge above 2*margin costs nothing; a small one does
    edge = np.zeros((1, 3, 4, 4))
    edge[..., 2:] = 0.05
    assert loss(torch.from_numpy(edge)).item() == 0
    edge[..., 2:] = 0.02
    assert loss(torch.from_numpy(edge)).item() > 0


def test_color_consistency_matches_zero_dce():
    img = RNG.uniform(0, 1, (3, 3, 5, 5))
    means = img.mean(axis=(2, 3))
    expected = np.mean([
        np.sqrt((r - g)**4 + (r - b)**4 + (b - g)**4) for r, g, b in means
    ])
    value = build('ColorConsistencyLoss', loss_weight=25.0)(
        torch.from_numpy(img))
    np.testing.assert_allclose(value.item(), 25 * expected)


def test_color_consistency_gradient_is_finite_on_grey_images():
    img = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    build('ColorConsistencyLoss')(img).backward()
    assert torch.isfinite(img.grad).all()


def test_exposure_loss_per_sample_and_map_and_patches():
    img = RNG.uniform(0, 1, (2, 3, 8, 8))
    exposure = np.array([0.1, 0.4])
    intensity = img.mean(axis=1)
    expected = np.mean(
        [(intensity[i] - exposure[i])**2 for i in range(2)])
    loss = build('ExposureLoss', loss_weight=10.0)
    assert loss.patch_size == 1
    np.testing.assert_allclose(
        loss(torch.from_numpy(img), torch.from_numpy(exposure)).item(),
        10 * expected)
    # map target, 4x4 patches: mean over patches of (patch mean - E patch)^2
    target = RNG.uniform(0, 0.5, (2, 1, 8, 8))
    errors = []
    for i in range(2):
        for y in range(0, 8, 4):
            for x in range(0, 8, 4):
                errors.append((intensity[i, y:y + 4, x:x + 4].mean() -
                               target[i, 0, y:y + 4, x:x + 4].mean())**2)
    value = build('ExposureLoss', patch_size=4, loss_weight=1.0)(
        torch.from_numpy(img), torch.from_numpy(target))
    np.testing.assert_allclose(value.item(), np.mean(errors))


def test_flexibility_loss():
    beta = RNG.uniform(0.95, 1, (2, 3, 4, 4))
    value = build('FlexibilityLoss', loss_weight=5.0)(torch.from_numpy(beta))
    np.testing.assert_allclose(value.item(), 5 * np.mean(1 - beta))


def numpy_location_cosine(a, b):
    """Mean over (n, h, w) of the cosine of the channel vectors."""
    n, c = a.shape[:2]
    a = a.reshape(n, c, -1)
    b = b.reshape(n, c, -1)
    values = []
    for i in range(n):
        for p in range(a.shape[2]):
            u, v = a[i, :, p], b[i, :, p]
            values.append(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
    return np.mean(values)


def test_feature_similarity_over_a_list_of_maps_and_pooled_vectors():
    maps = [RNG.normal(size=(2, 4, 3, 5)), RNG.normal(size=(2, 8, 2, 2))]
    others = [m + RNG.normal(scale=0.5, size=m.shape) for m in maps]
    expected = np.mean(
        [numpy_location_cosine(a, b) for a, b in zip(maps, others)])
    loss = build('FeatureSimilarityLoss', loss_weight=0.1)
    value = loss([torch.from_numpy(m) for m in maps],
                 [torch.from_numpy(m) for m in others])
    np.testing.assert_allclose(value.item(), 0.1 * expected)
    # pooled vectors (N, C): one location
    u, v = RNG.normal(size=(3, 6)), RNG.normal(size=(3, 6))
    expected = np.mean([a @ b / np.linalg.norm(a) / np.linalg.norm(b)
                        for a, b in zip(u, v)])
    np.testing.assert_allclose(
        loss(torch.from_numpy(u), torch.from_numpy(v)).item(), 0.1 * expected)
    # identical features: similarity 1
    same = torch.from_numpy(maps[0])
    assert loss(same, same).item() == pytest.approx(0.1)
    with pytest.raises(ValueError, match='same layers'):
        loss([same], [same, same])


def test_byol_loss_and_stop_gradient():
    p, z = RNG.normal(size=(4, 16)), RNG.normal(size=(4, 16))
    expected = np.mean([
        2 - 2 * a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        for a, b in zip(p, z)
    ])
    p_t = torch.from_numpy(p).requires_grad_()
    z_t = torch.from_numpy(z).requires_grad_()
    value = build('BYOLLoss', loss_weight=0.1)(p_t, z_t)
    np.testing.assert_allclose(value.item(), 0.1 * expected)
    value.backward()
    assert p_t.grad is not None and z_t.grad is None
