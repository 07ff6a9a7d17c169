"""`tools/demo.py --task cls` end to end at toy size: data, baseline, SMM,
table, results.json and picture grid."""
import json
import os.path as osp
import sys

import cv2
import pytest

pytest.importorskip('mmpretrain')
# the Runners' MessageHub / DefaultScope do not outlive this module
from test_codan_train_test import runner_globals_restored  # noqa: E402,F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))


def test_classification_demo_runs_end_to_end(tmp_path, capsys, monkeypatch):
    import demo
    work_dir = tmp_path / 'demo_cls'
    monkeypatch.setattr(sys, 'argv', [
        'demo.py', '--task', 'cls', '--work-dir', str(work_dir),
        '--num-train', '20', '--num-val', '10', '--num-test', '10',
        '--pretrain-iters', '2', '--darken-iters', '1', '--adapt-iters', '2'
    ])
    demo.main()
    out = capsys.readouterr().out
    assert '| day-only baseline |' in out and '| SMM (ours) |' in out
    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    assert results['iterations'] == dict(pretrain=2, darken=1, adapt=2)
    for metrics in results['results'].values():
        assert set(metrics) == {'day/accuracy/top1', 'night/accuracy/top1'}
    # the SMM run started from the baseline's checkpoint at `pretrain`
    assert osp.isfile(work_dir / 'baseline' / 'iter_2.pth')
    grid = cv2.imread(str(work_dir / 'demo_grid.png'))
    # 8 test scenes (of 10) x 128 px + header; day, D(day), night, text
    assert grid.shape == (24 + 8 * 128, 5 * 128, 3)
