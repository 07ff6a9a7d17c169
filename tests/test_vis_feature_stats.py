"""Feature-gap statistics against independent numpy computations."""
import numpy as np
import pytest
import torch

from mmsimmm.visualization import (gaussian_mmd2, median_heuristic_bandwidth,
                                   paired_cosine_similarity, pooled, tsne)


def numpy_mmd2(x, y):
    """Biased Gaussian MMD^2, bandwidth = median pairwise distance of the
    pooled points, with explicit loops."""
    z = np.concatenate([x, y])
    distances = [np.linalg.norm(z[i] - z[j]) for i in range(len(z))
                 for j in range(i + 1, len(z))]
    sigma = float(np.median(distances))

    def k(a, b):
        return np.exp(-np.sum((a - b)**2) / (2 * sigma**2))

    def mean_k(a, b):
        return np.mean([[k(p, q) for q in b] for p in a])

    return mean_k(x, x) + mean_k(y, y) - 2 * mean_k(x, y), sigma


def test_mmd_of_identical_sets_is_zero_and_of_shifted_sets_positive():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 5))
    mmd2, sigma = gaussian_mmd2(torch.from_numpy(x), torch.from_numpy(x))
    assert mmd2 == pytest.approx(0.0, abs=1e-12)
    assert sigma == pytest.approx(numpy_mmd2(x, x)[1], rel=1e-9)
    y = x + 0.7
    mmd2, sigma = gaussian_mmd2(torch.from_numpy(x), torch.from_numpy(y))
    expected, expected_sigma = numpy_mmd2(x, y)
    assert expected > 0.05
    assert mmd2 == pytest.approx(expected, rel=1e-9)
    assert sigma == pytest.approx(expected_sigma, rel=1e-9)
    # a larger shift is a larger gap (same bandwidth)
    far, _ = gaussian_mmd2(torch.from_numpy(x), torch.from_numpy(x + 2.0),
                           sigma=sigma)
    assert far > mmd2


def test_median_heuristic_of_coincident_points_falls_back_to_one():
    assert median_heuristic_bandwidth(torch.ones(4, 3)) == 1.0


def test_cosine_similarity_of_a_set_with_itself_is_one():
    features = torch.randn(3, 8, 4, 5)
    similarity = paired_cosine_similarity(features, features)
    assert torch.allclose(similarity, torch.ones(3), atol=1e-6)
    # against numpy: per location, normalised channel dot product
    other = torch.randn(3, 8, 4, 5)
    a, b = features.numpy(), other.numpy()
    dots = (a * b).sum(1) / (np.linalg.norm(a, axis=1) *
                             np.linalg.norm(b, axis=1))
    assert np.allclose(paired_cosine_similarity(features, other).numpy(),
                       dots.reshape(3, -1).mean(1), atol=1e-6)
    assert torch.allclose(pooled(features), features.mean((2, 3)))
    with pytest.raises(ValueError, match='feature shapes differ'):
        paired_cosine_similarity(features, other[:, :4])


def test_tsne_keeps_separated_clusters_apart():
    rng = np.random.default_rng(1)
    day = rng.normal(0, 1, size=(15, 10))
    night = rng.normal(8, 1, size=(15, 10))
    embedding = tsne(np.concatenate([day, night]), iterations=300, seed=0)
    assert embedding.shape == (30, 2)
    centre_day, centre_night = embedding[:15].mean(0), embedding[15:].mean(0)
    spread = max(np.linalg.norm(embedding[:15] - centre_day, axis=1).max(),
                 np.linalg.norm(embedding[15:] - centre_night, axis=1).max())
    assert np.linalg.norm(centre_day - centre_night) > 2 * spread
    with pytest.raises(ValueError, match='at least 4 points'):
        tsne(np.zeros((3, 2)))
