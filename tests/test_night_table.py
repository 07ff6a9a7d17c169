"""benchmarks/night_table.py: rows from one shared day checkpoint, the JSON
cache (a rerun only fills what is missing), the table and its statistics."""
import json
import math
import os.path as osp

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


def test_default_rows_are_the_issue_table_and_all_adds_the_extras():
    script = load_script('night_table')
    issue_rows = {'erm_day', 'erm_control', 'darken_brightness',
                  'darken_gamma_noise', 'mixstyle', 'ciconv', 'adabn',
                  'exposure_norm', 'smm', 'smm_paper', 'smm_no_ld_sim',
                  'smm_no_byol', 'smm_alternating', 'smm_darkener_brightness',
                  'smm_darkener_gamma', 'smm_darkener_reciprocal'}
    for task in script.TASKS.values():
        default = {r.name for r in script.selected_rows(task, None)}
        assert default == issue_rows
        every = {r.name for r in script.selected_rows(task, ['all'])}
        assert every == {r.name for r in task.rows}
        assert every - default and all(
            r.extra for r in task.rows if r.name in every - default)
    # an extra row named explicitly still runs
    names = [r.name for r in script.selected_rows(script.TASKS['cls'],
                                                  ['smm_sensor_noise'])]
    assert names == ['erm_day', 'smm', 'smm_sensor_noise']


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


def test_shared_stage1_starts_stage2_from_the_source_darkener(tmp_path):
    import torch
    script = load_script('night_table')
    script.main(['--tasks', 'seg', '--rows', 'smm_no_byol', '--seeds', '0',
                 '--iters', '2', '2', '3', '--num-train', '4', '--num-val',
                 '2', '--work-dir', str(tmp_path / 'work'), '--out',
                 str(tmp_path / 'table.md')])
    seed_dir = tmp_path / 'work' / 'seg' / 'seed0'

    def darkener(row):
        state = torch.load(seed_dir / row / 'final.pth',
                           weights_only=False)['state_dict']
        return {k: v for k, v in state.items() if k.startswith('darkener.')}

    source, shared = darkener('smm'), darkener('smm_no_byol')
    assert source and source.keys() == shared.keys()
    assert all(torch.equal(source[k], shared[k]) for k in source)
    # equal after this row's training: it ran no stage-1 step of its own
    assert '[stage 1 of smm]' in (tmp_path / 'table.md').read_text()


def test_report_only_trains_nothing_and_lists_missing_runs(tmp_path):
    script = load_script('night_table')
    work = tmp_path / 'work'
    cached = work / 'seg' / 'seed0' / 'erm_control' / 'result.json'
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps(dict(
        task='seg', row='erm_control', seed=0,
        iters=dict(pretrain=2, extra=2), day=40.0, night=3.0, seconds=1)))
    out = tmp_path / 'table.md'
    script.main(['--tasks', 'seg', '--rows', 'erm_control', '--seeds', '0',
                 '1', '--iters', '2', '2', '1', '--work-dir', str(work),
                 '--out', str(out), '--report-only'])
    text = out.read_text()
    assert '| 40.0 | 3.0 | 37.0 | 0 |' in text
    assert 'seg/erm_day seed 0' in text and 'seg/erm_control seed 1' in text
    assert not (work / 'seg' / 'seed1').exists()  # nothing generated


def _script(*argv):
    """benchmarks/night_table.py as a user runs it (its workers are
    spawned processes, which import the script by its path)."""
    import subprocess
    import sys
    return subprocess.run(
        [sys.executable, osp.join(osp.dirname(osp.dirname(__file__)),
                                  'benchmarks', 'night_table.py'), *argv],
        capture_output=True, text=True, timeout=600)


def test_jobs_run_rows_in_worker_processes_with_one_log_per_run(tmp_path):
    out = tmp_path / 'table.md'
    work = tmp_path / 'work'
    done = _script('--tasks', 'seg', '--rows', 'erm_control', 'adabn',
                   '--seeds', '0', '1', '--iters', '2', '2', '1',
                   '--num-train', '4', '--num-val', '2', '--work-dir',
                   str(work), '--out', str(out), '--jobs', '2')
    assert done.returncode == 0, done.stderr[-2000:]
    for seed in (0, 1):
        for row in ('erm_day', 'erm_control', 'adabn'):
            run = work / 'seg' / f'seed{seed}' / row
            assert (run / 'result.json').is_file()
            assert f'seg/{row} seed {seed}:' in (run / 'run.log').read_text()
    # a run starts only after the run it starts from is done
    lines = done.stdout.splitlines()

    def position(prefix):
        return next(i for i, line in enumerate(lines)
                    if line.startswith(prefix))

    for seed in (0, 1):
        assert position(f'  done seg/erm_day seed {seed} ') < position(
            f'  started seg/erm_control seed {seed} ')
        assert position(f'  done seg/erm_control seed {seed} ') < position(
            f'  started seg/adabn seed {seed} ')
    text = out.read_text()
    assert '| 0,1 |' in text and 'Not run yet' not in text
    assert '--jobs 2' in text
    assert 'This invocation trained 6 runs in' in text
    # a rerun trains nothing
    again = _script('--tasks', 'seg', '--rows', 'erm_control', 'adabn',
                    '--seeds', '0', '1', '--iters', '2', '2', '1',
                    '--num-train', '4', '--num-val', '2', '--work-dir',
                    str(work), '--out', str(out), '--jobs', '2')
    assert again.returncode == 0 and 'started' not in again.stdout
    assert 'This invocation trained 0 runs in' in out.read_text()


def test_a_failing_run_stops_the_table_naming_its_log(tmp_path):
    # a negative number of darkener iterations: the loop refuses it
    done = _script('--tasks', 'seg', '--rows', 'smm', '--seeds', '0',
                   '--iters', '2', '2', '-1', '--num-train', '4',
                   '--num-val', '2', '--work-dir', str(tmp_path), '--out',
                   str(tmp_path / 't.md'), '--jobs', '2')
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith('night_table: seg/smm seed 0 failed (')
    assert last.endswith(str(tmp_path / 'seg' / 'seed0' / 'smm' / 'run.log'))
    assert 'Traceback' in (tmp_path / 'seg' / 'seed0' / 'smm' /
                           'run.log').read_text()
    assert not (tmp_path / 't.md').exists()


def test_row_jobs_wait_for_their_start_and_sources(tmp_path):
    script = load_script('night_table')
    args = script.parse_args(['--tasks', 'seg', 'cls', '--seeds', '0',
                              '--rows', 'all', '--work-dir', str(tmp_path)])
    jobs = script.row_jobs(args)
    assert jobs[('seg', 0, 'erm_day')] == set()
    assert jobs[('seg', 0, 'ciconv')] == {('seg', 0, 'erm_day')}
    assert jobs[('seg', 0, 'adabn')] == {('seg', 0, 'erm_day'),
                                         ('seg', 0, 'erm_control')}
    assert jobs[('seg', 0, 'smm_no_byol')] == {('seg', 0, 'erm_day'),
                                               ('seg', 0, 'smm')}
    assert jobs[('cls', 0, 'smm_on_ciconv')] == {('cls', 0, 'erm_day'),
                                                 ('cls', 0, 'ciconv_day')}
    priorities = script.job_priorities(jobs)
    # the start outranks everything that waits for it; an SMM row with its
    # own stage 1 outranks a fine-tuning row and an evaluation
    assert max(priorities, key=priorities.get)[2] == 'erm_day'
    assert priorities[('seg', 0, 'smm_alternating')] > priorities[
        ('seg', 0, 'darken_gamma_noise')] > priorities[('seg', 0, 'adabn')]
    # cached runs are not jobs, and nothing waits for them
    cached = tmp_path / 'seg' / 'seed0' / 'erm_day' / 'result.json'
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps(dict(iters=dict(pretrain=450))))
    jobs = script.row_jobs(args)
    assert ('seg', 0, 'erm_day') not in jobs
    assert jobs[('seg', 0, 'ciconv')] == set()


def test_jobs_refuse_a_runner_class(tmp_path):
    script = load_script('night_table')
    with pytest.raises(SystemExit, match='run a runner_cls with --jobs 1'):
        script.main(['--work-dir', str(tmp_path), '--jobs', '2'],
                    runner_cls=script.TableRunner)


def test_shared_stage1_refuses_a_different_stage1(tmp_path, monkeypatch):
    script = load_script('night_table')
    task = script.TASKS['seg']
    rows = {r.name: r for r in task.rows}
    args = script.parse_args(['--work-dir', str(tmp_path)])
    runner = script.TableRunner(task, 0, args)
    real = runner.stage1_signature

    def signature(row):
        sig = real(row)
        if row.name == 'smm_paper':
            sig['darken_losses'] = dict(tv=None)
        return sig

    monkeypatch.setattr(runner, 'stage1_signature', signature)
    with pytest.raises(SystemExit, match="'smm_paper' .* 'darken_losses'"):
        runner.check_same_stage1(rows['smm_paper'], rows['smm'])
    runner.check_same_stage1(rows['smm_no_byol'], rows['smm'])


def test_cls_rows_train_from_the_shared_start(tmp_path):
    script = load_script('night_table')
    out = tmp_path / 'table.md'
    script.main(['--tasks', 'cls', '--rows', 'erm_control', 'smm_paper',
                 '--seeds', '0', '--iters', '2', '2', '1', '--num-train',
                 '10', '--num-val', '10', '--work-dir',
                 str(tmp_path / 'work'), '--out', str(out)])
    seed_dir = tmp_path / 'work' / 'cls' / 'seed0'
    results = {
        name: json.loads((seed_dir / name / 'result.json').read_text())
        for name in ('erm_day', 'erm_control', 'smm_paper')
    }
    for result in results.values():
        assert 0 <= result['day'] <= 100 and 0 <= result['night'] <= 100
        # 10 test scenes: top-1 is a multiple of 10 %
        assert result['night'] % 10 == pytest.approx(0, abs=1e-4)
    assert results['smm_paper']['iters'] == dict(pretrain=2, extra=2,
                                                 darken=1)
    assert (seed_dir / 'data' / 'test_night').is_dir()
    assert '## cls (top-1 %' in out.read_text()


def test_smm_on_ciconv_starts_from_its_own_ciconv_day_run(tmp_path):
    import torch
    script = load_script('night_table')
    work = tmp_path / 'work'
    script.main(['--tasks', 'cls', '--rows', 'smm_on_ciconv', '--seeds', '0',
                 '--iters', '3', '2', '1', '--num-train', '10', '--num-val',
                 '10', '--work-dir', str(work), '--out',
                 str(tmp_path / 'table.md')])
    seed_dir = work / 'cls' / 'seed0'
    # the start row is added: a CIConv day run of PRETRAIN iterations
    day = json.loads((seed_dir / 'ciconv_day' / 'result.json').read_text())
    assert day['iters'] == dict(pretrain=3)
    start = torch.load(seed_dir / 'ciconv_day' / 'final.pth',
                       map_location='cpu')['state_dict']
    assert 'backbone.ciconv.scale' in start
    # the SMM run loaded that checkpoint (the config the Runner dumped)
    # into a CIConv task model
    from mmengine.config import Config
    dumped = Config.fromfile(seed_dir / 'smm_on_ciconv' /
                             'objects_smm_on_ciconv.py')
    assert dumped.load_from == str(seed_dir / 'ciconv_day' / 'final.pth')
    smm = torch.load(seed_dir / 'smm_on_ciconv' / 'final.pth',
                     map_location='cpu')['state_dict']
    assert 'task_model.backbone.ciconv.scale' in smm
    assert (seed_dir / 'smm_on_ciconv' / 'result.json').is_file()


def test_a_shared_stage1_needs_the_same_start(tmp_path):
    script = load_script('night_table')
    rows = {r.name: r for r in script.TASKS['cls'].rows}
    args = script.parse_args(['--work-dir', str(tmp_path)])
    runner = script.TableRunner(script.TASKS['cls'], 0, args)
    from dataclasses import replace
    moved = replace(rows['smm_no_byol'], start='ciconv_day')
    with pytest.raises(SystemExit, match='starts from another checkpoint'):
        runner.check_same_stage1(moved, rows['smm'])


def _cls_config(script, row):
    from mmengine.config import Config
    return Config.fromfile(
        osp.join(script.REPO, 'configs', 'demo', 'cls', row.config))


def test_every_cls_config_builds_what_its_row_claims():
    from mmengine.registry import MODELS, DefaultScope
    script = load_script('night_table')
    rows = {r.name: r for r in script.TASKS['cls'].rows if r.config}
    models, configs = {}, {}
    for name, row in rows.items():
        cfg = configs[name] = _cls_config(script, row)
        hooks = [h['type'] for h in cfg.custom_hooks]
        assert hooks[:2] == ['mmsimmm.PlainMessageHubHook',
                             'mmsimmm.FiniteLossHook'], name
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            models[name] = MODELS.build(cfg.model)
        smm = type(models[name]).__name__ == 'SimMinMax'
        assert smm == (row.kind == 'smm'), name
    # the fine-tuned rows load the day checkpoint: same parameters as ERM
    plain = set(models['erm_control'].state_dict())
    for name in ('darken_brightness', 'darken_gamma_noise', 'mixstyle'):
        assert set(models[name].state_dict()) == plain, name
    assert models['mixstyle'].backbone.mixstyle_layer1.p == 0.5
    assert 'backbone.ciconv.scale' in models['ciconv'].state_dict()
    assert models['ciconv'].backbone.backbone.conv1.in_channels == 1
    assert models['smm_paper'].dark_noise is None
    assert models['smm_paper'].night_exposure.light_pools is None
    # the classification default: pools of light in E', no sensor noise
    assert models['smm'].dark_noise is None
    assert models['smm'].night_exposure.light_pools['max_num'] == 4
    assert models['smm_sensor_noise'].dark_noise is not None
    assert models['smm_sensor_noise'].night_exposure.light_pools is not None
    assert models['smm_noise_no_pools'].dark_noise is not None
    assert models['smm_noise_no_pools'].night_exposure.light_pools is None
    assert models['smm_no_byol'].projector is None
    # SMM on CIConv: the CIConv task model, its ResNet tapped one level down
    on_ciconv = models['smm_on_ciconv']
    assert on_ciconv.task_model.backbone.backbone.conv1.in_channels == 1
    assert on_ciconv.task_adapter.darken_taps == ['backbone.backbone.layer4']
    assert set(on_ciconv.task_model.state_dict()) == set(
        models['ciconv'].state_dict())
    assert 'similarity' not in models['smm_no_ld_sim'].darken_losses
    assert 'similarity' in models['smm'].darken_losses
    assert configs['smm_alternating'].train_cfg.schedule == 'alternating'
    # augmentations: after the geometric/colour transforms, before packing
    for name, mode in (('darken_brightness', 'brightness'),
                       ('darken_gamma_noise', 'gamma')):
        pipeline = configs[name].train_dataloader.dataset.pipeline
        assert [t['type'] for t in pipeline[-3:]] == [
            'ColorJitter', 'mmsimmm.RandomDarken', 'PackInputs'], name
        assert pipeline[-2]['mode'] == mode
    assert configs['adabn'].custom_hooks[-1]['type'] == 'mmsimmm.AdaBNHook'
    assert [loader.dataset.pipeline[1]['type']
            for loader in configs['exposure_norm'].test_dataloader] == [
                'mmsimmm.ExposureNormalize'] * 2
    # every fine-tuned row uses the SMM task optimiser for adapt_iters
    smm = configs['smm']
    for name, row in rows.items():
        if row.kind == 'finetune':
            cfg = configs[name]
            assert cfg.optim_wrapper.optimizer == \
                smm.optim_wrapper.task.optimizer, name
            assert cfg.train_cfg.max_iters == smm.adapt_iters, name


def test_each_run_gets_its_own_visualizer(tmp_path):
    """Two Runners in one process (the demo, the table) write their pictures
    into their own work dirs."""
    script = load_script('night_table')
    demo = script.demo
    first = demo.make_config('synthetic_streets_simmm.py', str(tmp_path / 'a'),
                             str(tmp_path / 'data'), 0, 'a')
    second = demo.make_config('synthetic_streets_simmm.py',
                              str(tmp_path / 'b'), str(tmp_path / 'data'), 0,
                              'b')
    assert first.visualizer.name != second.visualizer.name


def test_device_choice(monkeypatch):
    script = load_script('night_table')
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0')
    script.select_device('cpu')
    import os
    assert os.environ['CUDA_VISIBLE_DEVICES'] == ''
    monkeypatch.setattr(script.torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match='--device cuda but torch finds'):
        script.select_device('cuda')


def test_width_diagnostic_builds_consistent_wider_models(tmp_path):
    import torch
    from mmengine.registry import MODELS, DefaultScope
    script = load_script('night_table')
    diagnostic = load_script('width_diagnostic')
    runner_cls = type('Wide', (diagnostic.WideTableRunner, ),
                      dict(base_channels=24))
    args = script.parse_args(['--work-dir', str(tmp_path)])
    task = script.TASKS['seg']
    rows = {r.name: r for r in task.rows}
    runner = runner_cls(task, 0, args)
    for name in diagnostic.ROWS:
        row = rows[name]
        cfg = runner._config(row, row.config)
        with DefaultScope.overwrite_default_scope('mmseg'):
            model = MODELS.build(cfg.model)
        segmentor = getattr(model, 'task_model', model)
        assert segmentor.backbone.stem[0].out_channels == 12  # stem / 2
        assert segmentor.backbone.layer4[-1].conv2.out_channels == 192
        logits = segmentor(torch.rand(1, 3, 64, 128), mode='tensor')
        assert logits.shape[:2] == (1, 19)
    with pytest.raises(SystemExit, match='--base-channels must be >= 1'):
        diagnostic.main(['--base-channels', '0'])
