"""benchmarks/cost.py runs end to end (smoke run: rows, not timings) and the
fast paths of the darkener it measures compute what the formula says."""
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROWS = [
    'D forward  scale_factor=1:',
    'D forward  scale_factor=2:',
    'D forward  scale_factor=4:',
    'stage-2 SMM step / plain step on 2B:',
    'without BYOL (no necks, no EMA target):',
    'of which D forward on B',
    'of which EMA target fwd on 2B',
    '(same, not channels-last)',
    'stage-1 SMM step / plain F step on B:',
    'test: SimMinMax / task model test_step:',
    'DarkenVisualizationHook call / SMM stage2 step:',
    'DarkenVisualizationHook call / SMM stage1 step:',
    'D forward at default scale_factor=',
    'segmentation stage-2 step <= 1.4x plain step:',
    'classification stage-2 step <= 1.4x plain step:',
]


def test_cost_benchmark_quick_run_prints_every_row(tmp_path):
    out = tmp_path / 'cost.json'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'cost.py'), '--quick',
         '--json', str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in ROWS:
        assert row in proc.stdout, f'missing row {row!r}:\n{proc.stdout}'
    goal_lines = [line for line in proc.stdout.splitlines()
                  if line.strip().startswith(('D forward at default',
                                              'segmentation stage-2',
                                              'classification stage-2'))]
    assert len(goal_lines) == 3
    assert all(line.rstrip().endswith(('PASS', 'FAIL'))
               for line in goal_lines)
    result = json.loads(out.read_text())
    assert set(result['darkener']) >= {'1', '2', '4'}
    for row in result['darkener'].values():
        assert row['time_s'] > 0 and row['peak_delta_mib'] >= 0
    assert set(result['ratios']) == {'seg', 'cls'}
    for ratios in result['ratios'].values():
        assert set(ratios) >= {'stage2', 'stage1', 'test', 'stage2_hook',
                               'stage1_hook'}
        assert all(0 < r['low'] <= r['median'] <= r['high']
                   for r in ratios.values())
    assert set(result['goals']) == {'darkener', 'stage2_seg', 'stage2_cls'}
