"""mAP and Recall@k of place recognition (Tokyo 24/7), per time of day."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmsimmm.registry import METRICS


def average_precision(positions: np.ndarray, num_positives: int) -> float:
    """cirtorch's ``compute_ap``: the area under the precision-recall curve
    by trapezoids, from the 0-based ranks of the positives (junk removed)."""
    ap, step = 0.0, 1.0 / num_positives
    for j, rank in enumerate(np.sort(positions)):
        precision_before = 1.0 if rank == 0 else j / rank
        precision_after = (j + 1) / (rank + 1)
        ap += (precision_before + precision_after) * step / 2.0
    return ap


def rank_query(order: np.ndarray, ok: Sequence[int],
               junk: Sequence[int]) -> np.ndarray:
    """0-based ranks of the positives ``ok`` in the database ``order`` once
    the ``junk`` images are taken out of it."""
    kept = order[~np.isin(order, np.asarray(junk, dtype=np.int64))]
    return np.flatnonzero(np.isin(kept, np.asarray(ok, dtype=np.int64)))


def place_recognition_scores(ranks: np.ndarray, gnd: List[dict],
                             topk: Sequence[int] = (1, 5, 10)):
    """Per-query AP and hits@k.

    Args:
        ranks: (num_queries, num_database): database indices, best first.
        gnd: one dict per query, ``ok`` and optional ``junk`` indices.
    Returns:
        ``ap`` (num_queries,) and ``hits`` (num_queries, len(topk)) in
        [0, 1], NaN for queries without positives (cirtorch excludes them).
    """
    ap = np.full(len(gnd), np.nan)
    hits = np.full((len(gnd), len(topk)), np.nan)
    for q, entry in enumerate(gnd):
        if len(entry['ok']) == 0:
            continue
        positions = rank_query(ranks[q], entry['ok'], entry.get('junk', []))
        ap[q] = average_precision(positions, len(entry['ok']))
        first = positions.min() if len(positions) else np.inf
        hits[q] = [float(first < k) for k in topk]
    return ap, hits


@METRICS.register_module()
class PlaceRecognitionMetric(BaseMetric):
    """mAP (cirtorch's protocol: trapezoidal AP, junk ignored, queries
    without positives skipped) and Recall@k (share of queries with a
    positive among the first k database images), in %, for all queries and
    for each time of day the dataset gives (``night/mAP``, ``day/R@1``...).

    The model's test outputs carry ``descriptor`` (L2-normalised) and the
    dataset's ``db_index`` / ``query_index`` / ``time_of_day``
    (``mmsimmm.Tokyo247Dataset``); the ground truth comes from the
    dataset's metainfo. Descriptors are ranked by inner product.
    """
    default_prefix = 'tokyo247'

    def __init__(self, topk: Sequence[int] = (1, 5, 10),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not topk or any(k < 1 for k in topk):
            raise ValueError(f'PlaceRecognitionMetric: topk must be >= 1, '
                             f'got {tuple(topk)}')
        self.topk = tuple(int(k) for k in topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'descriptor' not in sample:
                raise KeyError('PlaceRecognitionMetric: the model output has '
                               "no 'descriptor' (test with a retrieval model "
                               'such as mmsimmm.GeMRetriever)')
            self.results.append(
                dict(descriptor=sample['descriptor'].detach().float().cpu(),
                     db_index=int(sample.get('db_index', -1)),
                     query_index=int(sample.get('query_index', -1)),
                     time_of_day=sample.get('time_of_day', '')))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        meta = self.dataset_meta or {}
        if 'gnd' not in meta:
            raise KeyError('PlaceRecognitionMetric: the dataset metainfo has '
                           "no 'gnd' (use mmsimmm.Tokyo247Dataset)")
        database = self._gather(results, 'db_index', meta['num_database'])
        queries = self._gather(results, 'query_index', meta['num_queries'])
        times = meta.get('query_times') or [''] * meta['num_queries']
        scores = queries @ database.T
        ranks = torch.argsort(scores, dim=1, descending=True).cpu().numpy()
        ap, hits = place_recognition_scores(ranks, meta['gnd'], self.topk)
        groups = {'': np.ones(len(ap), dtype=bool)}
        for time in sorted({t for t in times if t}):
            groups[f'{time}/'] = np.array([t == time for t in times])
        metrics = {}
        for name, members in groups.items():
            valid = members & ~np.isnan(ap)
            if not valid.any():
                continue
            metrics[f'{name}mAP'] = float(ap[valid].mean() * 100)
            for column, k in enumerate(self.topk):
                metrics[f'{name}R@{k}'] = float(hits[valid, column].mean() *
                                                100)
        return metrics

    @staticmethod
    def _gather(results: list, key: str, size: int) -> torch.Tensor:
        rows = {r[key]: r['descriptor'] for r in results if r[key] >= 0}
        missing = [i for i in range(size) if i not in rows]
        if missing:
            raise ValueError(f'PlaceRecognitionMetric: no descriptor for '
                             f'{key} {missing[0]} ({len(missing)} of {size} '
                             'missing; test on the whole dataset)')
        return torch.stack([rows[i] for i in range(size)])
