"""benchmarks/night_table.py: rows from one shared day checkpoint, the JSON
cache (a rerun only fills what is missing), the table and its statistics."""
import json
import math

import pytest

from test_benchmark_scripts import load_script


def test_summary_statistics_and_markdown():
    script = load_script('night_table')
    task = script.TASKS['seg']
    results = [dict(row='erm_control', seed=s, day=d, night=n, seconds=10.0)
               for s, d, n in ((0, 70.0, 20.0), (1, 72.0, 24.0))]
    results.append(dict(row='smm', seed=0, day=71.0, night=30.0,
                        seconds=20.0))
    summary = script.summarise(results, task)
    control, smm = summary
    assert control['night'] == pytest.approx(22.0)
    assert control['night_std'] == pytest.approx(math.sqrt(8.0))
    assert control['drop'] == pytest.approx(49.0)
    assert math.isnan(smm['night_std'])  # one seed: no spread claimed
    args = script.parse_args(['--tasks', 'seg'])
    text = script.markdown({'seg': summary}, args, ['--tasks', 'seg'])
    assert '| + 250 more day-only iterations (control) | 71.0 ± 1.4 | ' \
        '22.0 ± 2.8 | 49.0 | 0,1 |' in text
    assert 'python benchmarks/night_table.py --tasks seg' in text


def test_unknown_row_is_one_line():
    script = load_script('night_table')
    with pytest.raises(SystemExit, match="unknown row 'smmm'"):
        script.selected_rows(script.TASKS['seg'], ['smmm'])
    rows = script.selected_rows(script.TASKS['seg'], ['smm'])
    assert [r.name for r in rows] == ['erm_day', 'smm']


def test_rows_train_from_the_shared_start_and_cache(tmp_path):
    script = load_script('night_table')
    out = tmp_path / 'table.md'
    argv = ['--tasks', 'seg', '--rows', 'erm_control', 'smm_paper',
            '--seeds', '0', '--iters', '2', '2', '1', '--num-train', '4',
            '--num-val', '2', '--work-dir', str(tmp_path / 'work'),
            '--out', str(out)]
    script.main(argv)
    seed_dir = tmp_path / 'work' / 'seg' / 'seed0'
    results = {
        name: json.loads((seed_dir / name / 'result.json').read_text())
        for name in ('erm_day', 'erm_control', 'smm_paper')
    }
    assert all(0 <= r['night'] <= 100 for r in results.values())
    assert (tmp_path / 'table.png').stat().st_size > 0
    assert 'SMM, paper setting' in out.read_text()
    # a rerun reads the cache: nothing is trained again
    stamps = {n: (seed_dir / n / 'result.json').stat().st_mtime_ns
              for n in results}
    script.main(argv)
    assert stamps == {n: (seed_dir / n / 'result.json').stat().st_mtime_ns
                      for n in results}
