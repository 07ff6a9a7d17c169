"""The scripts behind the README's accuracy-vs-speed and CUDA claims run end
to end on tiny settings (rows and verdicts, not numbers)."""
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(script, *args, timeout=600):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return proc


def test_demo_scale_factor_table_and_verdict(tmp_path):
    out = tmp_path / 'rows.json'
    proc = run('demo_scale_factor.py', '--seeds', '0', '1', '--iters', '2',
               '1', '1', '--num-train', '4', '--num-val', '2', '--work-dir',
               str(tmp_path / 'work'), '--json', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = result['rows']
    # per seed: the baseline, then SMM at the default scale factor and at 1
    # (scale factors read back from the darkener each run built)
    assert [(r['seed'], r['model'], r['scale_factor']) for r in rows] == [
        (0, 'baseline', None), (0, 'SMM', 4), (0, 'SMM', 1),
        (1, 'baseline', None), (1, 'SMM', 4), (1, 'SMM', 1)]
    assert all(0 <= r['night'] <= 100 and 0 <= r['day'] <= 100
               for r in rows)
    night = {sf: [r['night'] for r in rows if r['scale_factor'] == sf]
             for sf in (4, 1)}
    noise = max(max(v) - min(v) for v in night.values())
    assert abs(result['noise'] - noise) < 1e-9
    drop = sum(night[1]) / 2 - sum(night[4]) / 2
    assert result['passed'] == (drop <= noise)
    assert ('PASS' if result['passed'] else 'FAIL') in proc.stdout


def test_cuda_check_dry_run_on_cpu(tmp_path):
    out = tmp_path / 'checks.json'
    proc = run('cuda_check.py', '--dry-run-on-cpu', '--iters', '1',
               '--num-train', '4', '--work-dir', str(tmp_path / 'work'),
               '--json', str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    checks = json.loads(out.read_text())
    assert len(checks) == 4 and all(c['ok'] for c in checks), checks
    assert 'stage 2 moved' in checks[2]['detail']
