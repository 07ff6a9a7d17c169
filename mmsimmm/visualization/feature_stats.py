"""Feature-gap statistics of paired day / night (or darkened) images:
per-location cosine similarity, Gaussian-kernel MMD and an exact t-SNE
(``tools/analysis/feature_similarity.py``, ``DarkenVisualizationHook``)."""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def paired_cosine_similarity(day: Tensor, night: Tensor,
                             eps: float = 1e-8) -> Tensor:
    """Per pair: the channel cosine similarity at each location, mean over
    locations (the measure of L_D^sim). ``(N, C, ...)`` -> ``(N, )``."""
    if day.shape != night.shape:
        raise ValueError(f'feature shapes differ: {tuple(day.shape)} vs '
                         f'{tuple(night.shape)}')
    cosine = F.cosine_similarity(day, night, dim=1, eps=eps)
    return cosine.reshape(cosine.shape[0], -1).mean(1)


def pooled(features: Tensor) -> Tensor:
    """Global average pooling of ``(N, C, ...)`` maps -> ``(N, C)``."""
    return features.reshape(*features.shape[:2], -1).mean(-1)


def _distances(a: Tensor, b: Tensor) -> Tensor:
    """Exact pairwise Euclidean distances (not the faster |a|^2 + |b|^2 -
    2ab form, which cancels badly for near-identical points)."""
    return torch.cdist(a, b, compute_mode='donot_use_mm_for_euclid_dist')


def median_heuristic_bandwidth(points: Tensor) -> float:
    """sigma = median of the pairwise Euclidean distances between distinct
    points (i < j); 1.0 when they all coincide."""
    points = points.double()
    distances = _distances(points, points)
    upper = torch.triu_indices(len(points), len(points), offset=1)
    # quantile: the mean of the two middle values for an even count
    sigma = torch.quantile(distances[upper[0], upper[1]], 0.5).item()
    return sigma if sigma > 0 else 1.0


def gaussian_mmd2(x: Tensor,
                  y: Tensor,
                  sigma: Optional[float] = None) -> Tuple[float, float]:
    """Biased (V-statistic) squared MMD between the rows of ``x`` and ``y``
    with the Gaussian kernel k(a, b) = exp(-|a - b|^2 / (2 sigma^2)):
    mean K(x, x) + mean K(y, y) - 2 mean K(x, y). ``sigma`` defaults to
    the median heuristic on the pooled rows. Identical sets give exactly 0.
    Computed in float64. Returns ``(mmd2, sigma)``."""
    x, y = x.double(), y.double()
    if sigma is None:
        sigma = median_heuristic_bandwidth(torch.cat([x, y]))

    def kernel_mean(a, b):
        return torch.exp(-_distances(a, b).pow(2) / (2 * sigma**2)).mean()

    mmd2 = kernel_mean(x, x) + kernel_mean(y, y) - 2 * kernel_mean(x, y)
    return max(mmd2.item(), 0.0), sigma


def _conditional_probabilities(sq_distances: np.ndarray, perplexity: float,
                               tol: float = 1e-5,
                               steps: int = 60) -> np.ndarray:
    """Rows P(j | i) with the Gaussian precision of each point found by
    bisection so that the row's perplexity is ``perplexity``."""
    n = len(sq_distances)
    target = np.log(perplexity)
    probabilities = np.zeros((n, n))
    for i in range(n):
        dist = np.delete(sq_distances[i], i)
        beta, low, high = 1.0, 0.0, np.inf
        for _ in range(steps):
            weights = np.exp(-(dist - dist.min()) * beta)
            total = weights.sum()
            row = weights / total
            entropy = np.log(total) + beta * np.sum(
                (dist - dist.min()) * row)
            if abs(entropy - target) < tol:
                break
            if entropy > target:  # too flat: sharpen
                low = beta
                beta = beta * 2 if high == np.inf else (beta + high) / 2
            else:
                high = beta
                beta = (beta + low) / 2
        probabilities[i, np.arange(n) != i] = row
    return probabilities


def tsne(points: np.ndarray,
         perplexity: float = 30.0,
         iterations: int = 500,
         seed: int = 0) -> np.ndarray:
    """Exact t-SNE (van der Maaten & Hinton, 2008) of ``(N, D)`` points to
    2-D, in numpy (O(N^2): meant for a few hundred points): perplexity
    capped at (N - 1) / 3, early exaggeration 12 for the first 100
    iterations, momentum 0.5 then 0.8, learning rate max(N / 12, 50) with
    per-coordinate gains."""
    points = np.asarray(points, np.float64)
    n = len(points)
    if n < 4:
        raise ValueError(f't-SNE needs at least 4 points, got {n}')
    points = points - points.mean(0)
    scale = np.abs(points).max()
    points = points / scale if scale > 0 else points
    sq = np.square(points).sum(1)
    sq_distances = np.maximum(sq[:, None] + sq[None] - 2 * points @ points.T,
                              0)
    perplexity = min(perplexity, (n - 1) / 3)
    conditional = _conditional_probabilities(sq_distances, perplexity)
    joint = (conditional + conditional.T) / (2 * n)
    joint = np.maximum(joint, 1e-12)
    rng = np.random.default_rng(seed)
    embedding = rng.normal(0, 1e-4, (n, 2))
    velocity = np.zeros_like(embedding)
    gains = np.ones_like(embedding)
    learning_rate = max(n / 12, 50.0)
    for step in range(iterations):
        exaggeration = 12.0 if step < 100 else 1.0
        sq_e = np.square(embedding).sum(1)
        inverse = 1 / (1 + sq_e[:, None] + sq_e[None] -
                       2 * embedding @ embedding.T)
        np.fill_diagonal(inverse, 0)
        q = np.maximum(inverse / inverse.sum(), 1e-12)
        forces = (exaggeration * joint - q) * inverse
        gradient = 4 * ((np.diag(forces.sum(1)) - forces) @ embedding)
        same_sign = np.sign(gradient) == np.sign(velocity)
        gains = np.maximum(np.where(same_sign, gains * 0.8, gains + 0.2),
                           0.01)
        momentum = 0.5 if step < 100 else 0.8
        velocity = momentum * velocity - learning_rate * gains * gradient
        embedding = embedding + velocity
        embedding = embedding - embedding.mean(0)
    return embedding
