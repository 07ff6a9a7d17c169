"""CPU demo of Similarity Min-Max on embedded synthetic street scenes.

    python tools/demo.py [--work-dir work_dirs/demo] [--seed 0]
    python tools/demo.py --task cls [...]   (classification: tools/demo_cls.py)
    python tools/demo.py --task video [...] (action: tools/demo_video.py)

1. makes the day/night dataset (mmsimmm.datasets.synthetic_streets; no
   download, deterministic by seed);
2. trains the day-only baseline (configs/demo/synthetic_streets_baseline.py);
3. trains SMM (configs/demo/synthetic_streets_simmm.py) from the baseline's
   checkpoint at `pretrain_iters`: stage 1 (darkener), stage 2 (adaptation);
4. evaluates both on the day and the night validation scenes, prints a table
   and writes results.json and a picture grid (day, D(day), night, labels,
   predictions) to the work dir.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

# Deprecation chatter of the pinned stack, not actionable by a demo user.
for pattern in ('pkg_resources', '``build_loss``', 'Default ``avg_non_ignore',
                'You are using `torch.load`', 'Consider using tensor',
                'Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD',
                # the task scheduler idles (begin=darken_iters) in stage 1
                'Detected call of `scheduler.step()`'):
    warnings.filterwarnings('ignore', message=f'.*{pattern}')

import mmsimmm  # noqa: F401,E402  (version checks + compatibility fixes)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmsimmm.datasets import generate_synthetic_streets  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'demo')


class ProgressHook(Hook):
    """Prints one line every `interval` iterations (the demo runs with
    mmengine's logger at WARNING to keep the terminal readable)."""
    priority = 'LOW'

    def __init__(self, name, interval=100):
        self.name, self.interval, self.start = name, interval, None

    def before_train(self, runner):
        self.start = time.time()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        done = runner.iter + 1
        if done % self.interval and done != runner.max_iters:
            return
        phase = runner.message_hub.get_info('smm_phase') or 'day'
        loss = outputs['loss'].item() if outputs else float('nan')
        print(f'  [{self.name}] iter {done}/{runner.max_iters} '
              f'({phase}) loss {loss:.3f}  {time.time() - self.start:.0f} s',
              flush=True)


def set_data_root(cfg, data_root):
    for key in ('train_dataloader', 'test_dataloader'):
        loaders = cfg[key] if isinstance(cfg[key], list) else [cfg[key]]
        for loader in loaders:
            loader.dataset.data_root = data_root


def make_config(config, work_dir, data_root, seed, name, **overrides):
    """A demo config set up for one run: work dir, seed, quiet logging, data
    root, no periodic validation (evaluated once through runner.test())."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    cfg.experiment_name = name
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval', None)
    set_data_root(cfg, data_root)
    if cfg.get('visualizer'):
        # mmengine keeps one Visualizer per name for the whole process: a
        # second Runner with the same name would write its pictures into
        # the first run's vis_data
        cfg.visualizer.name = f'visualizer:{osp.abspath(work_dir)}'
    cfg.merge_from_dict(overrides)
    return cfg


def make_runner(config, work_dir, data_root, seed, name, **overrides):
    cfg = make_config(config, work_dir, data_root, seed, name, **overrides)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(ProgressHook(name))
    return cfg, runner


SEG_BASELINE = 'synthetic_streets_baseline.py'
SEG_SMM = 'synthetic_streets_simmm.py'
SEG_LR = dict(type='PolyLR', eta_min=1e-5, power=0.9)


def default_iterations(baseline_config=SEG_BASELINE, smm_config=SEG_SMM):
    """(pretrain, darken, adapt) iterations of two demo configs (by default
    the street-scene ones)."""
    base = Config.fromfile(osp.join(CONFIGS, baseline_config))
    smm = Config.fromfile(osp.join(CONFIGS, smm_config))
    return base.pretrain_iters, smm.darken_iters, smm.adapt_iters


def train_day_only(config, lr_schedule, work_dir, data_root, seed, pretrain,
                   total):
    """Day-only training of `config` for `total` iterations, `lr_schedule`
    (a scheduler dict without begin/end) over all of them; F for SMM is the
    checkpoint at `pretrain`."""
    _, runner = make_runner(
        config, work_dir, data_root, seed, 'baseline',
        train_cfg=dict(max_iters=total),
        param_scheduler=[
            dict(**lr_schedule, begin=0, end=total, by_epoch=False)
        ],
        default_hooks=dict(checkpoint=dict(interval=pretrain)))
    runner.train()
    return runner


def train_two_stages(config, lr_schedule, work_dir, data_root, seed,
                     load_from, darken, adapt, **overrides):
    """SMM config `config`: stage 1 (`darken` iterations) then stage 2
    (`adapt`, task learning rate under `lr_schedule`) from the day
    checkpoint `load_from`; `overrides` are merged into the config."""
    _, runner = make_runner(
        config, work_dir, data_root, seed, 'simmm',
        load_from=load_from,
        train_cfg=dict(darken_iters=darken, adapt_iters=adapt),
        param_scheduler=dict(task=[
            dict(**lr_schedule, begin=darken, end=darken + adapt,
                 by_epoch=False)
        ]),
        default_hooks=dict(checkpoint=dict(interval=darken + adapt)),
        **overrides)
    runner.train()
    return runner


def train_baseline(work_dir, data_root, seed, pretrain, total):
    """The street-scene day-only baseline (see `train_day_only`)."""
    return train_day_only(SEG_BASELINE, SEG_LR, work_dir, data_root, seed,
                          pretrain, total)


def train_smm(work_dir, data_root, seed, load_from, darken, adapt,
              **overrides):
    """Street-scene SMM (see `train_two_stages`)."""
    return train_two_stages(SEG_SMM, SEG_LR, work_dir, data_root, seed,
                            load_from, darken, adapt, **overrides)


def colourise(label, palette):
    out = np.zeros(label.shape + (3, ), np.uint8)
    for index, colour in enumerate(palette):
        out[label == index] = colour
    return out[..., ::-1]  # RGB palette -> BGR for cv2


def model_device(model):
    """The device of a model's weights (inputs are moved there)."""
    return next(model.parameters()).device


def predict(task_model, sample):
    """Label map (H, W) of one dataset sample, as a host numpy array; the
    task model's data preprocessor moves the inputs to its device."""
    batch = dict(inputs=[sample['inputs']],
                 data_samples=[sample['data_samples']])
    with torch.no_grad():
        pred = task_model.test_step(batch)[0].pred_sem_seg.data[0]
    return pred.cpu().numpy()


def to_bgr_image(inputs):
    """A (3, H, W) uint8 BGR tensor (as loaded) -> (H, W, 3) numpy array."""
    return inputs.cpu().permute(1, 2, 0).numpy()


def darkened_view(smm_model, day_inputs, generator):
    """D(day) of one (3, H, W) uint8 BGR image as an (H, W, 3) uint8 BGR
    array, under a stage-2 exposure map drawn on the CPU by ``generator``
    (the same picture on every device)."""
    rgb = day_inputs.cpu().flip(0)[None].float() / 255
    exposure = smm_model.night_exposure(1, rgb.shape[-2:],
                                        generator=generator)
    device = model_device(smm_model.darkener)
    with torch.no_grad():
        dark = smm_model.darkener(rgb.to(device), exposure.to(device))[0]
    dark_rgb = dark.clamp(0, 1).cpu().permute(1, 2, 0).numpy()
    return (dark_rgb[..., ::-1] * 255).round().astype(np.uint8)


def write_grid(path, rows, titles, column_width):
    """Writes the image rows stacked under a white header with one title
    per `column_width` pixels."""
    grid = np.concatenate(rows, 0)
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    for col, text in enumerate(titles):
        cv2.putText(header, text, (col * column_width + 6, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.imwrite(path, np.concatenate([header, grid], 0))


def picture_grid(path, smm_model, baseline_model, day_set, night_set,
                 indices, seed):
    """Rows: scenes; columns: day, D(day), night, label, baseline on night,
    SMM on night. The models may sit on any device."""
    palette = day_set.metainfo['palette']
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for index in indices:
        day, night = day_set[index], night_set[index]
        label = night['data_samples'].gt_sem_seg.data[0].cpu().numpy()
        rows.append(
            np.concatenate([
                to_bgr_image(day['inputs']),
                darkened_view(smm_model, day['inputs'], generator),
                to_bgr_image(night['inputs']),
                colourise(label, palette),
                colourise(predict(baseline_model, night), palette),
                colourise(predict(smm_model.task_model, night), palette)
            ], 1))
    titles = ['day', 'D(day)', 'night', 'label', 'baseline@night',
              'SMM@night']
    write_grid(path, rows, titles, rows[0].shape[1] // len(titles))


# ---------------------------------------- shared by the cls and video demos
def predict_label(task_model, sample) -> int:
    """Predicted class index of one dataset sample (any device)."""
    batch = dict(inputs=[sample['inputs']],
                 data_samples=[sample['data_samples']])
    with torch.no_grad():
        return int(task_model.test_step(batch)[0].pred_label.cpu().reshape(
            -1)[0])


def prediction_lines(classes, label, night_sample, smm_model, baseline_model):
    """(text, BGR colour) lines: the label, then the baseline's and SMM's
    prediction on the night sample (green right, red wrong)."""
    lines = [(f'label: {classes[label]}', (0, 0, 0))]
    for name, model in (('baseline', baseline_model),
                        ('SMM', smm_model.task_model)):
        pred = predict_label(model, night_sample)
        colour = (0, 140, 0) if pred == label else (0, 0, 200)
        lines.append((f'{name}@night: {classes[pred]}', colour))
    return lines


def text_panel(lines, tile, first_line, line_step, font_scale):
    """White (tile, 2 * tile) panel, one (text, BGR colour) line every
    `line_step` pixels from `first_line`."""
    panel = np.full((tile, 2 * tile, 3), 255, np.uint8)
    for row, (text, colour) in enumerate(lines):
        cv2.putText(panel, text, (6, first_line + line_step * row),
                    cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, 1,
                    cv2.LINE_AA)
    return panel


# ------------------------------------------------------- the four steps
@dataclass
class DemoTask:
    """What one demo (seg, cls, video) differs in; `run_demo` does the
    rest."""
    data_name: str  # step 1: what `generate_data` makes
    generate_data: Callable  # (data_root, parsed args) -> None
    baseline_config: str  # relative to configs/demo
    smm_config: str
    lr_schedule: dict  # of both runs, without begin/end
    test_name: str  # step 4: what the two test loaders hold
    metrics: Sequence[str]  # (day key, night key) of runner.test()
    metric_name: str  # table header, e.g. 'mIoU'
    picture_grid: Callable  # same signature as `picture_grid` above
    grid_rows: int
    metric_scale: float = 1  # e.g. 100: accuracy fractions -> percent
    # results.json keeps only `metrics` unless this is False
    save_only_metrics: bool = True


def demo_arg_parser(doc, tasks, default_task, work_dir, task_help=None,
                    **dataset_sizes):
    """The demos' common options; `dataset_sizes` (e.g. num_train=300)
    become integer options (--num-train)."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--task', choices=tasks, default=default_task,
                        help=task_help)
    parser.add_argument('--work-dir', default=work_dir)
    parser.add_argument('--seed', type=int, default=0)
    for name, default in dataset_sizes.items():
        parser.add_argument('--' + name.replace('_', '-'), type=int,
                            default=default)
    parser.add_argument(
        '--pretrain-iters', type=int, default=None,
        help='day iterations before adaptation (config default if unset)')
    parser.add_argument('--darken-iters', type=int, default=None)
    parser.add_argument('--adapt-iters', type=int, default=None)
    return parser


def run_demo(task: DemoTask, args):
    """Data, day-only baseline, SMM from the baseline at `pretrain`, then
    the day/night table, results.json and the picture grid."""
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    work_dir = osp.abspath(args.work_dir)
    started = time.time()
    data_root = osp.join(work_dir, 'data')
    print(f'[1/4] {task.data_name} -> {data_root}', flush=True)
    task.generate_data(data_root, args)

    pretrain, darken, adapt = default_iterations(task.baseline_config,
                                                 task.smm_config)
    pretrain = args.pretrain_iters or pretrain
    darken = args.darken_iters or darken
    adapt = args.adapt_iters or adapt
    total = pretrain + adapt
    print(f'[2/4] day-only baseline: {total} iterations (F for SMM saved at '
          f'{pretrain})', flush=True)
    baseline_dir = osp.join(work_dir, 'baseline')
    baseline = train_day_only(task.baseline_config, task.lr_schedule,
                              baseline_dir, data_root, args.seed, pretrain,
                              total)
    print(f'[3/4] SMM: {darken} darkener + {adapt} adaptation iterations '
          f'from the baseline at iteration {pretrain}', flush=True)
    smm = train_two_stages(task.smm_config, task.lr_schedule,
                           osp.join(work_dir, 'simmm'), data_root, args.seed,
                           osp.join(baseline_dir, f'iter_{pretrain}.pth'),
                           darken, adapt)

    print(f'[4/4] evaluating on {task.test_name}', flush=True)
    results = {
        'day-only baseline': baseline.test(),
        'SMM (ours)': smm.test(),
    }
    shown = {name: {key: task.metric_scale * float(metrics[key])
                    for key in task.metrics}
             for name, metrics in results.items()}
    table = [f'| model | day {task.metric_name} | night {task.metric_name} |',
             '|---|---|---|']
    for name, metrics in shown.items():
        day, night = (metrics[key] for key in task.metrics)
        table.append(f'| {name} | {day:.2f} | {night:.2f} |')
    day_set = smm.test_loop.dataloaders[0].dataset
    night_set = smm.test_loop.dataloaders[1].dataset
    grid_path = osp.join(work_dir, 'demo_grid.png')
    step = max(1, len(day_set) // task.grid_rows)
    task.picture_grid(grid_path, smm.model, baseline.model, day_set,
                      night_set,
                      list(range(0, len(day_set), step))[:task.grid_rows],
                      args.seed)
    elapsed = time.time() - started
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=shown if task.save_only_metrics else results,
                       seed=args.seed,
                       iterations=dict(pretrain=pretrain, darken=darken,
                                       adapt=adapt),
                       seconds=round(elapsed)), f, indent=2)
    print('\n'.join(['', *table, '', f'picture grid: {grid_path}',
                     f'total time: {elapsed / 60:.1f} min']))


def generate_streets(data_root, args):
    generate_synthetic_streets(data_root, num_train=args.num_train,
                               num_val=args.num_val, seed=args.seed)


SEG_TASK = DemoTask(
    data_name='synthetic street scenes', generate_data=generate_streets,
    baseline_config=SEG_BASELINE, smm_config=SEG_SMM, lr_schedule=SEG_LR,
    test_name='day and night validation scenes',
    metrics=('day/mIoU', 'night/mIoU'), metric_name='mIoU',
    picture_grid=picture_grid, grid_rows=4, save_only_metrics=False)
TASKS = ('seg', 'cls', 'video')


def parse_args():
    return demo_arg_parser(
        __doc__, TASKS, 'seg', 'work_dirs/demo',
        task_help='seg: street scenes (mmseg, this demo); cls: object images '
        '(mmpretrain; tools/demo_cls.py, see its --help); video: motion '
        'clips (mmaction2; tools/demo_video.py)',
        num_train=300, num_val=40).parse_args()


def main():
    # --task cls / video hands all options to that task's demo
    task = argparse.ArgumentParser(add_help=False)
    task.add_argument('--task', choices=TASKS, default='seg')
    if task.parse_known_args()[0].task == 'cls':
        import demo_cls
        return demo_cls.main(sys.argv[1:])
    if task.parse_known_args()[0].task == 'video':
        import demo_video
        return demo_video.main(sys.argv[1:])
    run_demo(SEG_TASK, parse_args())


if __name__ == '__main__':
    main()
