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
    cfg.merge_from_dict(overrides)
    return cfg


def make_runner(config, work_dir, data_root, seed, name, **overrides):
    cfg = make_config(config, work_dir, data_root, seed, name, **overrides)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(ProgressHook(name))
    return cfg, runner


def default_iterations():
    """(pretrain, darken, adapt) iterations of the demo configs."""
    base = Config.fromfile(osp.join(CONFIGS, 'synthetic_streets_baseline.py'))
    smm = Config.fromfile(osp.join(CONFIGS, 'synthetic_streets_simmm.py'))
    return base.pretrain_iters, smm.darken_iters, smm.adapt_iters


def train_baseline(work_dir, data_root, seed, pretrain, total):
    """Day-only training for `total` iterations; F for SMM is the checkpoint
    at `pretrain`."""
    _, runner = make_runner(
        'synthetic_streets_baseline.py', work_dir, data_root, seed,
        'baseline',
        train_cfg=dict(max_iters=total),
        param_scheduler=[
            dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=total,
                 by_epoch=False)
        ],
        default_hooks=dict(checkpoint=dict(interval=pretrain)))
    runner.train()
    return runner


def train_smm(work_dir, data_root, seed, load_from, darken, adapt,
              **overrides):
    """Stage 1 (`darken` iterations) then stage 2 (`adapt`) from the day
    checkpoint `load_from`; `overrides` are merged into the config."""
    _, runner = make_runner(
        'synthetic_streets_simmm.py', work_dir, data_root, seed, 'simmm',
        load_from=load_from,
        train_cfg=dict(darken_iters=darken, adapt_iters=adapt),
        param_scheduler=dict(task=[
            dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=darken,
                 end=darken + adapt, by_epoch=False)
        ]),
        default_hooks=dict(checkpoint=dict(interval=darken + adapt)),
        **overrides)
    runner.train()
    return runner


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
    batch = dict(inputs=[sample['inputs']], data_samples=[sample['data_samples']])
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
    grid = np.concatenate(rows, 0)
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    width = grid.shape[1] // 6
    for col, text in enumerate(['day', 'D(day)', 'night', 'label',
                                'baseline@night', 'SMM@night']):
        cv2.putText(header, text, (col * width + 6, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.imwrite(path, np.concatenate([header, grid], 0))


TASKS = ('seg', 'cls', 'video')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--task', choices=TASKS, default='seg',
        help='seg: street scenes (mmseg, this demo); cls: object images '
        '(mmpretrain; tools/demo_cls.py, see its --help); video: motion '
        'clips (mmaction2; tools/demo_video.py)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=40)
    parser.add_argument(
        '--pretrain-iters', type=int, default=None,
        help='day iterations before adaptation (config default if unset)')
    parser.add_argument('--darken-iters', type=int, default=None)
    parser.add_argument('--adapt-iters', type=int, default=None)
    return parser.parse_args()


def main():
    # --task cls hands all options to the classification demo
    task = argparse.ArgumentParser(add_help=False)
    task.add_argument('--task', choices=TASKS, default='seg')
    if task.parse_known_args()[0].task == 'cls':
        import demo_cls
        return demo_cls.main(sys.argv[1:])
    if task.parse_known_args()[0].task == 'video':
        import demo_video
        return demo_video.main(sys.argv[1:])
    args = parse_args()
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    work_dir = osp.abspath(args.work_dir)
    started = time.time()
    data_root = osp.join(work_dir, 'data')
    print(f'[1/4] synthetic street scenes -> {data_root}', flush=True)
    generate_synthetic_streets(
        data_root, num_train=args.num_train, num_val=args.num_val,
        seed=args.seed)

    pretrain, darken, adapt = default_iterations()
    pretrain = args.pretrain_iters or pretrain
    adapt = args.adapt_iters or adapt
    darken = args.darken_iters or darken
    total = pretrain + adapt
    print(f'[2/4] day-only baseline: {total} iterations (F for SMM saved at '
          f'{pretrain})', flush=True)
    baseline_dir = osp.join(work_dir, 'baseline')
    baseline = train_baseline(baseline_dir, data_root, args.seed, pretrain,
                              total)
    print(f'[3/4] SMM: {darken} darkener + {adapt} adaptation iterations '
          f'from the baseline at iteration {pretrain}', flush=True)
    smm = train_smm(osp.join(work_dir, 'simmm'), data_root, args.seed,
                    osp.join(baseline_dir, f'iter_{pretrain}.pth'), darken,
                    adapt)

    print('[4/4] evaluating on day and night validation scenes', flush=True)
    results = {
        'day-only baseline': baseline.test(),
        'SMM (ours)': smm.test(),
    }
    table = ['| model | day mIoU | night mIoU |', '|---|---|---|']
    for name, metrics in results.items():
        table.append(f"| {name} | {metrics['day/mIoU']:.2f} | "
                     f"{metrics['night/mIoU']:.2f} |")
    day_set = smm.test_loop.dataloaders[0].dataset
    night_set = smm.test_loop.dataloaders[1].dataset
    grid_path = osp.join(work_dir, 'demo_grid.png')
    picture_grid(grid_path, smm.model, baseline.model, day_set, night_set,
                 list(range(0, len(day_set), max(1, len(day_set) // 4)))[:4],
                 args.seed)
    elapsed = time.time() - started
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, seed=args.seed,
                       iterations=dict(pretrain=pretrain, darken=darken,
                                       adapt=adapt),
                       seconds=round(elapsed)), f, indent=2)
    print('\n'.join(['', *table, '',
                     f'picture grid: {grid_path}',
                     f'total time: {elapsed / 60:.1f} min']))


if __name__ == '__main__':
    main()
