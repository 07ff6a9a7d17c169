"""mmsimmm.PlaceRecognitionMetric on toy rankings computed by hand, per
time of day, and Recall@k against mmpretrain's retrieval recall."""
import numpy as np
import pytest
import torch

from mmsimmm.evaluation import (PlaceRecognitionMetric, average_precision,
                                place_recognition_scores)

# database images 0..3; query 0 ranks them 2, 0, 3, 1 (2 is junk, 0 and 1
# positive); query 1 ranks them 3, 2, 1, 0 (0 positive); query 2 has none
GND = [dict(ok=[0, 1], junk=[2]), dict(ok=[0], junk=[]),
       dict(ok=[], junk=[])]
# scores whose descending order is the ranking above
QUERY_SCORES = [[3., 1., 4., 2.], [1., 2., 3., 4.], [1., 1., 1., 1.]]
# by hand, cirtorch's trapezoids: query 0 (junk removed: 0, 3, 1 -> the
# positives at ranks 0 and 2): (1 + 1)/2 * 1/2 + (1/2 + 2/3)/2 * 1/2;
# query 1 (positive at rank 3): (0 + 1/4)/2
AP_0 = 0.5 + (0.5 + 2 / 3) / 4
AP_1 = 0.125


def test_average_precision_by_hand():
    assert average_precision(np.array([0, 2]), 2) == pytest.approx(AP_0)
    assert average_precision(np.array([3]), 1) == pytest.approx(AP_1)
    assert average_precision(np.array([0, 1, 2]), 3) == pytest.approx(1.0)
    # a positive never retrieved counts as precision 0
    assert average_precision(np.array([0]), 2) == pytest.approx(0.5)


def test_scores_skip_junk_and_queries_without_positives():
    ranks = np.array([[2, 0, 3, 1], [3, 2, 1, 0], [0, 1, 2, 3]])
    ap, hits = place_recognition_scores(ranks, GND, topk=(1, 3, 5))
    np.testing.assert_allclose(ap[:2], [AP_0, AP_1])
    assert np.isnan(ap[2]) and np.isnan(hits[2]).all()
    np.testing.assert_array_equal(hits[:2], [[1, 1, 1], [0, 0, 1]])


def _metric(times):
    metric = PlaceRecognitionMetric(topk=(1, 5, 10))
    metric.dataset_meta = dict(gnd=GND, num_database=4, num_queries=3,
                               query_times=times)
    samples = [dict(descriptor=torch.eye(4)[i], db_index=i, query_index=-1,
                    time_of_day='') for i in range(4)]
    samples += [dict(descriptor=torch.tensor(s), db_index=-1, query_index=q,
                     time_of_day=times[q])
                for q, s in enumerate(QUERY_SCORES)]
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_metric_all_day_and_night_queries():
    metrics = _metric(['night', 'day', 'night'])
    expected = {
        'tokyo247/mAP': (AP_0 + AP_1) / 2 * 100,
        'tokyo247/R@1': 50.0, 'tokyo247/R@5': 100.0,
        'tokyo247/R@10': 100.0,
        'tokyo247/night/mAP': AP_0 * 100, 'tokyo247/night/R@1': 100.0,
        'tokyo247/night/R@5': 100.0, 'tokyo247/night/R@10': 100.0,
        'tokyo247/day/mAP': AP_1 * 100, 'tokyo247/day/R@1': 0.0,
        'tokyo247/day/R@5': 100.0, 'tokyo247/day/R@10': 100.0,
    }
    assert metrics.keys() == expected.keys()
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), key


def test_metric_without_times_reports_all_queries_only():
    metrics = _metric(['', '', ''])
    assert set(metrics) == {'tokyo247/mAP', 'tokyo247/R@1', 'tokyo247/R@5',
                            'tokyo247/R@10'}


def test_recall_matches_mmpretrain_retrieval_recall():
    from mmpretrain.evaluation import RetrievalRecall
    rng = np.random.default_rng(0)
    scores = torch.from_numpy(rng.normal(size=(20, 30)))
    gnd = [dict(ok=rng.choice(30, size=rng.integers(1, 4),
                              replace=False).tolist(), junk=[])
           for _ in range(20)]
    ranks = torch.argsort(scores, dim=1, descending=True).cpu().numpy()
    _, hits = place_recognition_scores(ranks, gnd, topk=(1, 5, 10))
    theirs = RetrievalRecall.calculate(
        scores, [torch.tensor(g['ok']) for g in gnd], topk=(1, 5, 10),
        target_indices=True)
    np.testing.assert_allclose(hits.mean(0) * 100,
                               [float(t) for t in theirs], atol=1e-4)


def test_metric_missing_descriptor_is_named():
    metric = PlaceRecognitionMetric()
    metric.dataset_meta = dict(gnd=GND, num_database=4, num_queries=3)
    metric.process({}, [dict(descriptor=torch.ones(4), db_index=0,
                             query_index=-1)])
    with pytest.raises(ValueError, match='no descriptor for db_index 1'):
        metric.evaluate(1)
    with pytest.raises(KeyError, match="no 'descriptor'"):
        metric.process({}, [dict(db_index=0)])
