"""The scripts behind the README's accuracy-vs-speed and CUDA claims run end
to end on tiny settings (rows and verdicts, not numbers)."""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'benchmarks', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_scale_factor_verdict_is_mean_drop_within_seed_spread(capsys):
    summarize = load_script('demo_scale_factor').summarize

    def rows(night_sf4, night_sf1):
        return [dict(seed=i, model='SMM', scale_factor=sf, day=30.0,
                     night=n)
                for sf, values in ((4, night_sf4), (1, night_sf1))
                for i, n in enumerate(values)]

    # means 10 vs 11: drop 1.0; spreads 2.0 and 0.5 -> noise 2.0 -> pass
    result = summarize(rows([9.0, 11.0], [11.25, 10.75]), [4, 1], 4)
    assert result['drop'] == pytest.approx(1.0)
    assert result['noise'] == pytest.approx(2.0)
    assert result['passed'] is True
    assert 'PASS' in capsys.readouterr().out
    # drop 3.0 beyond a spread of 1.0 -> fail
    result = summarize(rows([8.0, 9.0], [11.5, 11.5]), [4, 1], 4)
    assert result['drop'] == pytest.approx(3.0)
    assert result['passed'] is False
    assert 'FAIL' in capsys.readouterr().out
    # one seed has no spread: never a pass
    assert summarize(rows([9.0], [8.0]), [4, 1], 4)['passed'] is False


def test_demo_scale_factor_runs_each_setting(tmp_path):
    out = tmp_path / 'rows.json'
    script = load_script('demo_scale_factor')
    script.main(['--seeds', '0', '--iters', '1', '1', '1', '--num-train',
                 '2', '--num-val', '2', '--work-dir', str(tmp_path / 'work'),
                 '--json', str(out)])
    rows = json.loads(out.read_text())['rows']
    # the baseline, then SMM at the default scale factor and at 1 (read
    # back from the darkener each run built)
    assert [(r['seed'], r['model'], r['scale_factor']) for r in rows] == [
        (0, 'baseline', None), (0, 'SMM', 4), (0, 'SMM', 1)]
    assert all(0 <= r['night'] <= 100 and 0 <= r['day'] <= 100
               for r in rows)
    # --previous: earlier rows join the summary, their seeds are not rerun
    again = script.main(['--seeds', '0', '--previous', str(out), '--iters',
                         '1', '1', '1', '--work-dir', str(tmp_path / 'x')])
    assert again['night'] == {'4': [rows[1]['night']],
                              '1': [rows[2]['night']]}
    assert not (tmp_path / 'x').exists()


def test_cuda_check_dry_run_on_cpu(tmp_path):
    out = tmp_path / 'checks.json'
    status = load_script('cuda_check').main(
        ['--dry-run-on-cpu', '--iters', '1', '--num-train', '4',
         '--work-dir', str(tmp_path / 'work'), '--json', str(out)])
    checks = json.loads(out.read_text())
    assert status == 0, checks
    assert len(checks) == 4 and all(c['ok'] for c in checks), checks
    assert 'stage 2 moved' in checks[2]['detail']
