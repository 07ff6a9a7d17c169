"""SMM against cheap alternatives at night, on the package's own day/night sets.

    python benchmarks/night_table.py --jobs 2              # the table, 3 seeds
    python benchmarks/night_table.py --jobs 2 --rows all   # + our extra rows
    python benchmarks/night_table.py --tasks seg --rows erm_control smm --seeds 0
    python benchmarks/night_table.py --device cuda
    python benchmarks/night_table.py --report-only         # table from the cache

For each task and seed: the procedural day/night set of that seed, a day-only
model trained for PRETRAIN iterations (the shared start), then every row
fine-tuned from that same checkpoint for EXTRA iterations with the same task
optimiser (SMM: DARKEN darkener iterations first, then EXTRA adaptation
iterations). Rows that only change evaluation (AdaBN, test-time exposure
normalisation) evaluate the control row's checkpoint; CIConv changes the first
layer, so it is trained from scratch for PRETRAIN + EXTRA iterations. SMM rows
whose stage 1 is identical to the default SMM row's (checked on the config)
start stage 2 from that row's darkener.

Every (task, row, seed) is cached as JSON under --work-dir; a rerun only fills
what is missing. The table (mean +- std over seeds; day, night, drop) goes to
results/night_table.md with the command, versions and hardware, and a bar
chart to results/night_table.png.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))

import demo  # noqa: E402  (tools/demo.py: filters warnings, imports mmsimmm)
import demo_cls  # noqa: E402  (tools/demo_cls.py: its warning filters)
import torch  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


@dataclass
class Row:
    """One line of the table.

    kind: ``day`` (a day-only start: PRETRAIN iterations of ``config``, by
    default the task's day config; erm_day is the shared one), ``finetune`` (EXTRA task
    iterations from the start), ``smm`` (DARKEN + EXTRA from the start),
    ``eval`` (evaluate the checkpoint of row ``source`` under ``config``),
    ``scratch`` (PRETRAIN + EXTRA iterations from random init).
    """
    name: str
    label: str
    kind: str
    config: Optional[str] = None
    source: Optional[str] = None
    uses_night_data: bool = False
    group: str = 'baseline'
    # SMM rows whose stage 1 is that of another SMM row (same task model,
    # darkener, losses and darkener optimiser: checked) start stage 2 from
    # that row's darkener instead of training an identical one again
    stage1_of: Optional[str] = None
    # the row whose final checkpoint this row starts from (default: the
    # shared day-only start, erm_day)
    start: Optional[str] = None
    # beyond the table (our own measurements: extra defaults,
    # diagnostics); run with --rows all or by name, not by default
    extra: bool = False


@dataclass
class Task:
    name: str
    metric: str  # suffix of the day/ and night/ metrics
    unit: str
    configs: str  # folder under configs/demo
    base_config: str  # the day-only config (row erm_day)
    smm_config: str  # whose task optimiser the fine-tuned rows use
    generate: Callable  # (root, num_train, num_val, seed) -> None
    iters: Dict[str, int]  # pretrain, extra, darken
    rows: List[Row] = field(default_factory=list)
    num_train: int = 300  # generated training images
    num_val: int = 40  # generated scenes per test split


def generate_streets(root, num_train, num_val, seed):
    demo.generate_synthetic_streets(root, num_train=num_train,
                                    num_val=num_val, seed=seed)


def task_rows(prefix: str, smm_config: str,
              extra_smm_rows: Sequence[Row] = (),
              smm_label: str = 'SMM (mmsimmm default: + sensor noise, 8-bit)'
              ) -> List[Row]:
    """The rows of one task; its configs are named
    ``baselines/<prefix>_<row>.py`` and ``ablations/<prefix>_<row>.py``."""
    def baseline(name):
        return f'baselines/{prefix}_{name}.py'

    def ablation(name):
        return f'ablations/{prefix}_{name}.py'

    return [
        Row('erm_day', 'day-only ERM, {pretrain} iterations', 'day'),
        Row('erm_control', '+ {extra} more day-only iterations (control)',
            'finetune', baseline('erm')),
        Row('darken_brightness', '+ brightness darkening x*U(0.1,1), p 0.5',
            'finetune', baseline('darken_brightness')),
        Row('darken_gamma_noise',
            '+ gamma darkening x^U(1,5)*U(0.1,1) + noise, p 0.5',
            'finetune', baseline('darken_gamma_noise')),
        Row('mixstyle', '+ MixStyle', 'finetune', baseline('mixstyle')),
        Row('ciconv', 'CIConv-W first layer (own day run)', 'scratch',
            baseline('ciconv')),
        Row('adabn', 'control + AdaBN on night images (uses target data)',
            'eval', baseline('adabn'), source='erm_control',
            uses_night_data=True),
        Row('exposure_norm', 'control + test-time exposure normalisation',
            'eval', baseline('exposure_norm'), source='erm_control'),
        Row('smm', smm_label, 'smm', smm_config, group='smm'),
        Row('smm_paper',
            'SMM, paper setting (no sensor noise, uniform E\')', 'smm',
            ablation('smm_paper'), group='smm', stage1_of='smm'),
        *extra_smm_rows,
        Row('smm_no_ld_sim', 'SMM without L_D^sim', 'smm',
            ablation('smm_no_ld_sim'), group='smm'),
        Row('smm_ld_sim_x10', 'SMM with L_D^sim weight 1.0 (paper 0.1)',
            'smm', ablation('smm_ld_sim_x10'), group='smm', extra=True),
        Row('smm_no_byol', 'SMM without L_F^sim (no BYOL)', 'smm',
            ablation('smm_no_byol'), group='smm', stage1_of='smm'),
        Row('smm_alternating', 'SMM, alternating schedule', 'smm',
            ablation('smm_alternating'), group='smm'),
        Row('smm_darkener_brightness',
            'SMM, darkener curve -> per-pixel brightness scale', 'smm',
            ablation('smm_darkener_brightness'), group='smm'),
        Row('smm_darkener_gamma', 'SMM, darkener curve -> per-pixel gamma',
            'smm', ablation('smm_darkener_gamma'), group='smm'),
        Row('smm_darkener_reciprocal',
            'SMM, darkener curve -> reciprocal curve', 'smm',
            ablation('smm_darkener_reciprocal'), group='smm'),
    ]


SEG_ROWS = task_rows('streets', 'synthetic_streets_simmm.py', smm_label=(
    'SMM (mmsimmm default: + sensor noise, 8-bit, pools of light in E\')'),
                     extra_smm_rows=[
    Row('smm_gamma_aug', 'SMM + gamma darkening of the day view (beyond '
        'the paper)', 'smm', 'ablations/streets_smm_plus_gamma_aug.py',
        group='smm', extra=True),
    Row('smm_exposure_patch16', 'SMM, exposure loss on 16x16 patch means '
        '(beyond the paper)', 'smm', 'ablations/streets_smm_exposure_patch16.py',
        group='smm', extra=True),
    Row('smm_no_light_pools', 'SMM default without the pools of light in '
        'E\' (uniform E\', sensor noise kept)', 'smm',
        'ablations/streets_smm_no_light_pools.py', group='smm',
        stage1_of='smm', extra=True),
])


def generate_objects(root, num_train, num_val, seed):
    """The classification set: `num_val` scenes rendered by day (test_day)
    and by night (test_night); no `val` split (the table never validates)."""
    demo_cls.generate_synthetic_objects(root, num_train=num_train, num_val=0,
                                        num_test=num_val, seed=seed)


CLS_ROWS = task_rows('objects', 'objects_simmm.py', smm_label=(
    'SMM (mmsimmm default: pools of light in E\', 8-bit)'), extra_smm_rows=[
    Row('smm_sensor_noise', 'SMM default + sensor noise on D\'s output',
        'smm', 'ablations/objects_smm_sensor_noise.py', group='smm',
        stage1_of='smm', extra=True),
    Row('smm_noise_no_pools', 'SMM with sensor noise, uniform E\' (the '
        'former default)', 'smm', 'ablations/objects_smm_noise_no_pools.py',
        group='smm', extra=True),
    Row('ciconv_day', 'CIConv-W day-only, {pretrain} iterations (the start '
        'of SMM on CIConv)', 'day', 'baselines/objects_ciconv.py',
        extra=True),
    Row('smm_on_ciconv', 'SMM on the CIConv-W first layer (beyond the '
        'paper; from ciconv_day)', 'smm',
        'ablations/objects_smm_on_ciconv.py', group='smm', start='ciconv_day',
        extra=True),
])

TASKS = {
    'seg': Task('seg', 'mIoU', 'mIoU', '', 'synthetic_streets_baseline.py',
                'synthetic_streets_simmm.py', generate_streets,
                dict(pretrain=450, extra=250, darken=400), SEG_ROWS),
    # the demo's schedule (1500 day iterations, then 400): after 800 the day
    # model was far from converged (58 % day top-1, +7 from 250 more day
    # iterations), so the fine-tuned rows measured more day training than
    # adaptation. Stage 1 at Adam 1e-3: smoothed darken.exposure_error 0.075
    # after 400 darken iterations, ~0.06 after 1000.
    'cls': Task('cls', 'accuracy/top1', 'top-1 %', 'cls',
                'objects_baseline.py', 'objects_simmm.py', generate_objects,
                dict(pretrain=1500, extra=400, darken=400), CLS_ROWS,
                num_train=2000, num_val=500),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tasks', nargs='+', default=list(TASKS),
                        choices=list(TASKS))
    parser.add_argument('--rows', nargs='+', default=None,
                        help="row names, or 'all' (default: the issue's "
                        'table: baselines, SMM, paper setting, ablations; '
                        "'all' adds our extra rows); the start row and the "
                        'sources of eval and shared-stage-1 rows are added '
                        'as needed')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/night_table')
    parser.add_argument('--out', default=osp.join(REPO, 'results',
                                                  'night_table.md'))
    parser.add_argument('--device', default=None, choices=['cpu', 'cuda'],
                        help="mmengine's Runner takes CUDA when it finds it; "
                        'cpu hides the GPUs, cuda insists on one')
    parser.add_argument('--num-train', type=int, default=None,
                        help='generated training images (task default)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='generated test scenes (task default)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='run the rows in this many one-thread worker '
                        'processes, each run as soon as the runs it starts '
                        'from are cached, the longest remaining path first; '
                        'on 2 CPU cores 2 jobs keep both busy where one '
                        'small model on 2 threads does not')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: write the table from the '
                        'cached results and list the (row, seed) runs that '
                        'are missing')
    parser.add_argument('--iters', type=int, nargs=3, default=None,
                        metavar=('PRETRAIN', 'EXTRA', 'DARKEN'),
                        help='override the task schedule (all tasks)')
    return parser.parse_args(argv)


def selected_rows(task: Task, names: Optional[List[str]]) -> List[Row]:
    by_name = {r.name: r for r in task.rows}
    if not names:
        return [r for r in task.rows if not r.extra]
    if names == ['all']:
        return list(task.rows)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"night_table: unknown row '{unknown[0]}' for task "
                         f"'{task.name}' (known: {', '.join(by_name)})")
    wanted = set(names) | {'erm_day'}
    wanted |= {by_name[n].source for n in names if by_name[n].source}
    wanted |= {by_name[n].stage1_of for n in names if by_name[n].stage1_of}
    wanted |= {by_name[n].start for n in names if by_name[n].start}
    return [r for r in task.rows if r.name in wanted]


def _poly(begin, end):
    return [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=begin,
                 end=end, by_epoch=False)]


class TableRunner:
    """Trains and evaluates the rows of one task and seed, with caching."""

    def __init__(self, task: Task, seed: int, args):
        self.task, self.seed, self.args = task, seed, args
        self.iters = dict(task.iters)
        if args.iters:
            self.iters = dict(zip(('pretrain', 'extra', 'darken'),
                                  args.iters))
        self.root = osp.abspath(osp.join(args.work_dir, task.name,
                                         f'seed{seed}'))
        self.data_root = osp.join(self.root, 'data')

    def result_path(self, row: Row) -> str:
        return osp.join(self.root, row.name, 'result.json')

    def schedule(self, row: Row, rows: Dict[str, Row]) -> Dict[str, int]:
        """The iterations a row's result depends on (its cache key)."""
        keys = dict(day=('pretrain', ), finetune=('pretrain', 'extra'),
                    scratch=('pretrain', 'extra'),
                    smm=('pretrain', 'extra', 'darken'))
        if row.kind == 'eval':
            return self.schedule(rows[row.source], rows)
        return {k: self.iters[k] for k in keys[row.kind]}

    def cached(self, row: Row, rows: Dict[str, Row]) -> Optional[dict]:
        path = self.result_path(row)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            result = json.load(f)
        if result.get('iters') != self.schedule(row, rows):
            return None
        return result

    def checkpoint(self, row: Row) -> str:
        return osp.join(self.root, row.name, 'final.pth')

    def prepare_data(self):
        self.task.generate(self.data_root,
                           self.args.num_train or self.task.num_train,
                           self.args.num_val or self.task.num_val, self.seed)

    def _config(self, row: Row, config: str, **overrides):
        path = osp.join(self.task.configs, config)
        overrides.setdefault('env_cfg', {})
        cfg = demo.make_config(path, osp.join(self.root, row.name),
                               self.data_root, self.seed, row.name,
                               **overrides)
        # hooks with their own loaders (AdaBN's unlabelled night images)
        for hook in cfg.get('custom_hooks', []):
            if 'dataloader' in hook:
                hook['dataloader']['dataset']['data_root'] = self.data_root
        return cfg

    def _train(self, row: Row, cfg) -> Runner:
        runner = Runner.from_cfg(cfg)
        runner.register_hook(demo.ProgressHook(f'{self.task.name}/{row.name}',
                                               interval=100))
        runner.train()
        runner.save_checkpoint(osp.join(self.root, row.name), 'final.pth',
                               save_optimizer=False, save_param_scheduler=False)
        return runner

    def run(self, row: Row, rows: Dict[str, Row]) -> dict:
        result = self.cached(row, rows)
        if result is not None:
            return result
        it = self.iters
        start = self.checkpoint(rows[row.start or 'erm_day'])
        began = time.time()
        if row.kind == 'day':
            cfg = self._config(
                row, row.config or self.task.base_config,
                train_cfg=dict(max_iters=it['pretrain']),
                param_scheduler=_poly(0, it['pretrain']),
                default_hooks=dict(checkpoint=dict(interval=it['pretrain'])))
            runner = self._train(row, cfg)
        elif row.kind == 'scratch':
            total = it['pretrain'] + it['extra']
            cfg = self._config(
                row, row.config, train_cfg=dict(max_iters=total),
                param_scheduler=_poly(0, total),
                default_hooks=dict(checkpoint=dict(interval=total)))
            runner = self._train(row, cfg)
        elif row.kind == 'finetune':
            cfg = self._config(
                row, row.config, load_from=start,
                train_cfg=dict(max_iters=it['extra']),
                default_hooks=dict(checkpoint=dict(interval=it['extra'])))
            # the task optimiser of SMM's stage 2, so only the data differs
            cfg.optim_wrapper = self.smm_task_optimiser()
            cfg.param_scheduler = _poly(0, it['extra'])
            runner = self._train(row, cfg)
        elif row.kind == 'smm':
            darken, extra = it['darken'], it['extra']
            if row.stage1_of:
                self.check_same_stage1(row, rows[row.stage1_of])
                darken = 0
            cfg = self._config(
                row, row.config, load_from=start,
                train_cfg=dict(darken_iters=darken, adapt_iters=extra),
                default_hooks=dict(checkpoint=dict(interval=darken + extra)))
            cfg.param_scheduler = dict(darkener=[],
                                       task=_poly(darken, darken + extra))
            if row.stage1_of:
                # D is frozen in stage 2: the final checkpoint holds it as
                # stage 1 left it
                cfg.model.darkener.init_cfg = dict(
                    type='Pretrained', prefix='darkener.',
                    checkpoint=self.checkpoint(rows[row.stage1_of]))
            runner = self._train(row, cfg)
        elif row.kind == 'eval':
            cfg = self._config(row, row.config,
                               load_from=self.checkpoint(rows[row.source]))
            runner = Runner.from_cfg(cfg)
        else:
            raise ValueError(f'unknown row kind {row.kind!r}')
        metrics = runner.test()
        metric = self.task.metric
        result = dict(
            task=self.task.name, row=row.name, seed=self.seed,
            iters=self.schedule(row, rows),
            day=float(metrics[f'day/{metric}']),
            night=float(metrics[f'night/{metric}']),
            seconds=round(time.time() - began, 1))
        os.makedirs(osp.dirname(self.result_path(row)), exist_ok=True)
        with open(self.result_path(row), 'w') as f:
            json.dump(result, f, indent=2)
        print(f'  {self.task.name}/{row.name} seed {self.seed}: day '
              f"{result['day']:.2f} night {result['night']:.2f} "
              f"({result['seconds']:.0f} s)", flush=True)
        return result

    def stage1_signature(self, row: Row) -> dict:
        """What a stage 1 depends on besides the shared start and seed."""
        cfg = self._config(row, row.config)
        model = cfg.model
        return dict(
            darkener=model.get('darkener'),
            darken_losses=model.get('darken_losses'),
            darken_exposure_range=model.get('darken_exposure_range'),
            task_adapter=model.get('task_adapter'),
            darkener_optim=cfg.optim_wrapper.get('darkener'),
            loop={k: v for k, v in cfg.train_cfg.items()
                  if k not in ('adapt_iters', 'val_interval')},
            darkener_data=cfg.get('darken_dataloader',
                                  cfg.get('train_dataloader')))

    def check_same_stage1(self, row: Row, source: Row) -> None:
        if row.start != source.start:
            raise SystemExit(
                f"night_table: row '{row.name}' shares the stage 1 of "
                f"'{source.name}' but starts from another checkpoint")
        mine, theirs = self.stage1_signature(row), self.stage1_signature(
            source)
        differ = [k for k in mine if mine[k] != theirs[k]]
        if differ:
            raise SystemExit(
                f"night_table: row '{row.name}' shares the stage 1 of "
                f"'{source.name}' but its config differs in '{differ[0]}'")

    def smm_task_optimiser(self) -> dict:
        smm = demo.make_config(
            osp.join(self.task.configs, self.task.smm_config),
            self.root, self.data_root, self.seed, 'optimiser')
        task = smm.optim_wrapper.task
        return dict(type='OptimWrapper', optimizer=task.optimizer,
                    **({'clip_grad': task.clip_grad}
                       if task.get('clip_grad') else {}))


def summarise(results: List[dict], task: Task) -> List[dict]:
    """Per row: mean and std over seeds of day, night and the drop."""
    summary = []
    for row in task.rows:
        runs = [r for r in results if r['row'] == row.name]
        if not runs:
            continue
        entry = dict(row=row.name, seeds=sorted(r['seed'] for r in runs),
                     seconds=statistics.mean(r['seconds'] for r in runs))
        for key in ('day', 'night'):
            values = [r[key] for r in runs]
            entry[key] = statistics.mean(values)
            entry[f'{key}_std'] = (statistics.stdev(values)
                                   if len(values) > 1 else float('nan'))
        entry['drop'] = entry['day'] - entry['night']
        summary.append(entry)
    return summary


def _cell(mean, std):
    return f'{mean:.1f}' if std != std else f'{mean:.1f} ± {std:.1f}'


def markdown(summaries: Dict[str, List[dict]], args, argv) -> str:
    lines = ['# Night table (procedural day/night sets of mmsimmm)', '',
             'Produced by `' + ' '.join(
                 ['python benchmarks/night_table.py', *argv]) + '`.', '',
             f'torch {torch.__version__}, python {platform.python_version()}'
             f', {platform.machine()}, {os.cpu_count()} CPU cores, device '
             f"{args.device or ('cuda' if torch.cuda.is_available() else 'cpu')}"
             '. Synthetic data generated by the package; NOT the paper\'s '
             'benchmarks.', '']
    for name, summary in summaries.items():
        task = TASKS[name]
        labels = {r.name: r for r in task.rows}
        it = (dict(zip(('pretrain', 'extra', 'darken'), args.iters))
              if args.iters else task.iters)
        lines += [f'## {name} ({task.unit}, mean ± std over seeds)', '',
                  f'| row | day | night | drop | seeds | s/run |',
                  '|---|---|---|---|---|---|']
        for entry in summary:
            row = labels[entry['row']]
            label = row.label.format(**it)
            if row.kind == 'smm':
                label += f" ({it['darken']} darken + {it['extra']} adapt)"
            if row.stage1_of:
                label += f' [stage 1 of {row.stage1_of}]'
            if row.kind == 'smm' and not row.stage1_of:
                label += ' [own stage 1]'

            if row.uses_night_data:
                label += ' [not zero-shot]'
            lines.append(
                f"| {label} | {_cell(entry['day'], entry['day_std'])} | "
                f"{_cell(entry['night'], entry['night_std'])} | "
                f"{entry['drop']:.1f} | "
                f"{','.join(map(str, entry['seeds']))} | "
                f"{entry['seconds']:.0f} |")
        total = sum(e['seconds'] * len(e['seeds']) for e in summary)
        lines += ['', f'Sum of the run times above: {total / 60:.0f} min '
                  '(s/run: mean over seeds, in whatever process layout each '
                  'ran: one two-thread process, or --jobs 2).', '']
    return '\n'.join(lines)


def bar_chart(summaries: Dict[str, List[dict]], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(summaries), 1, squeeze=False,
                             figsize=(10, 4 * len(summaries)))
    for ax, (name, summary) in zip(axes[:, 0], summaries.items()):
        xs = range(len(summary))
        for offset, key, colour in ((-0.2, 'day', '#f2b134'),
                                    (0.2, 'night', '#264653')):
            ax.bar([x + offset for x in xs], [e[key] for e in summary], 0.4,
                   yerr=[0 if e[f'{key}_std'] != e[f'{key}_std'] else
                         e[f'{key}_std'] for e in summary], label=key,
                   color=colour)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([e['row'] for e in summary], rotation=30,
                           ha='right')
        ax.set_ylabel(TASKS[name].unit)
        ax.set_title(f'{name}: day vs night')
        # above the axes: the bars reach every corner inside
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2,
                  frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def select_device(device: Optional[str]) -> None:
    """The Runner places models on CUDA whenever torch sees a GPU (it has
    no device option), so the choice is made by what torch can see."""
    if device == 'cpu':
        # read when CUDA first initialises, which nothing here has done yet
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    elif device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('night_table: --device cuda but torch finds no GPU')


# relative cost of a run by row kind (s/run of both tasks on 2 cores, in
# units of a day-only start): the row scheduler starts the longest remaining
# path first so that the last runs are short ones
KIND_COST = dict(day=1.0, scratch=1.8, finetune=0.4, smm=1.8, eval=0.02)


def row_jobs(args) -> Dict[tuple, set]:
    """(task, seed, row) -> the jobs it waits for, for every selected run
    that is not cached. Every run of a (task, seed) waits for its erm_day,
    which generates the data."""
    jobs = {}
    for name in args.tasks:
        task = TASKS[name]
        by_name = {r.name: r for r in task.rows}
        for seed in args.seeds:
            runner = TableRunner(task, seed, args)
            for row in selected_rows(task, args.rows):
                if runner.cached(row, by_name) is not None:
                    continue
                needs = {'erm_day', row.start, row.source, row.stage1_of}
                jobs[(name, seed, row.name)] = {
                    (name, seed, n) for n in needs - {None, row.name}}
    for needs in jobs.values():
        needs.intersection_update(jobs)  # cached runs are already there
    return jobs


def job_priorities(jobs: Dict[tuple, set]) -> Dict[tuple, float]:
    """A job's cost plus the costliest chain of jobs waiting for it."""
    waiting = {key: [] for key in jobs}
    for key, needs in jobs.items():
        for need in needs:
            waiting[need].append(key)
    priorities = {}

    def priority(key):
        if key not in priorities:
            name, _, row_name = key
            row = {r.name: r for r in TASKS[name].rows}[row_name]
            cost = KIND_COST[row.kind] / (2 if row.stage1_of else 1)
            priorities[key] = cost + max(
                (priority(k) for k in waiting[key]), default=0.0)
        return priorities[key]

    for key in jobs:
        priority(key)
    return priorities


def _init_row_worker():
    # one thread per process: two one-thread processes keep 2 cores busy
    # where one small model on two threads does not
    os.environ.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    torch.set_num_threads(1)


def _run_row_job(args, name: str, seed: int, row_name: str,
                 log_path: str) -> None:
    """One run, in a worker process, its output in ``log_path``."""
    import traceback
    select_device(args.device)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log_path, 'w') as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            task = TASKS[name]
            by_name = {r.name: r for r in task.rows}
            runner = TableRunner(task, seed, args)
            runner.prepare_data()  # skipped when present (erm_day made it)
            runner.run(by_name[row_name], by_name)
        except BaseException:
            traceback.print_exc()
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


def run_rows(args) -> int:
    """Every missing (task, seed, row) run on ``args.jobs`` one-thread
    worker processes, a run as soon as the runs it starts from are done,
    the longest remaining path first. Stops with one line naming a run
    that failed and its log. Returns the number of runs trained."""
    import multiprocessing
    from concurrent.futures import (FIRST_COMPLETED, ProcessPoolExecutor,
                                    wait)
    jobs = row_jobs(args)
    priorities = job_priorities(jobs)
    total, done, running = len(jobs), set(), {}
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context,
                             initializer=_init_row_worker) as pool:
        while jobs or running:
            ready = sorted((k for k, needs in jobs.items() if needs <= done),
                           key=lambda k: -priorities[k])
            for key in ready[:args.jobs - len(running)]:
                del jobs[key]
                name, seed, row_name = key
                log_path = osp.join(args.work_dir, name, f'seed{seed}',
                                    row_name, 'run.log')
                os.makedirs(osp.dirname(log_path), exist_ok=True)
                running[pool.submit(_run_row_job, args, *key,
                                    log_path)] = (key, log_path)
                print(f'  started {name}/{row_name} seed {seed} '
                      f'(log: {log_path})', flush=True)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                (name, seed, row_name), log_path = running.pop(future)
                error = future.exception()
                if error is not None:
                    # the other runs stop too (no public way to stop a
                    # running worker before Python 3.14)
                    for process in list(pool._processes.values()):
                        process.terminate()
                    first = (str(error).strip().splitlines() or [''])[0]
                    raise SystemExit(
                        f'night_table: {name}/{row_name} seed {seed} failed '
                        f'({type(error).__name__}: {first}); see {log_path}')
                done.add((name, seed, row_name))
                print(f'  done {name}/{row_name} seed {seed} '
                      f'({len(done)}/{total})', flush=True)
    return total


def main(argv=None, runner_cls=None):
    """``runner_cls``: a TableRunner subclass (benchmarks/width_diagnostic.py)."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    trained = None
    if args.jobs > 1 and not args.report_only:
        if runner_cls is not None:
            raise SystemExit('night_table: --jobs runs the rows of '
                             'TableRunner; run a runner_cls with --jobs 1')
        began = time.time()
        trained = (run_rows(args), time.time() - began)
        args.report_only = True  # the table from what the workers cached
    select_device(args.device)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    summaries, missing = {}, []
    for name in args.tasks:
        task = TASKS[name]
        rows = selected_rows(task, args.rows)
        by_name = {r.name: r for r in task.rows}
        results = []
        for seed in args.seeds:
            table_runner = (runner_cls or TableRunner)(task, seed, args)
            if args.report_only:
                for row in rows:
                    result = table_runner.cached(row, by_name)
                    if result is None:
                        missing.append(f'{name}/{row.name} seed {seed}')
                    else:
                        results.append(result)
                continue
            table_runner.prepare_data()
            for row in rows:
                results.append(table_runner.run(row, by_name))
        summaries[name] = summarise(results, task)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    text = markdown(summaries, args, argv)
    if trained is not None:
        text += (f'\nThis invocation trained {trained[0]} runs in '
                 f'{trained[1] / 60:.1f} min of wall time ({args.jobs} '
                 'one-thread worker processes).\n')
    if missing:
        text += ('\nNot run yet (rows show the seeds they have): ' +
                 ', '.join(missing) + '.\n')
    with open(args.out, 'w') as f:
        f.write(text + '\n')
    bar_chart(summaries, osp.splitext(args.out)[0] + '.png')
    print(text)


if __name__ == '__main__':
    main()
