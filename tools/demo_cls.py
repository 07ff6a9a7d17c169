"""CPU demo of Similarity Min-Max on embedded synthetic object images
(classification, mmpretrain ResNet-18).

    python tools/demo.py --task cls [--work-dir work_dirs/demo_cls] [--seed 0]

1. makes the day/night object dataset (mmsimmm.datasets.synthetic_objects:
   10 shapes, 64x64, CODaN layout; no download, deterministic by seed);
2. trains the day-only baseline (configs/demo/cls/objects_baseline.py);
3. trains SMM (configs/demo/cls/objects_simmm.py) from the baseline's
   checkpoint at `pretrain_iters`: stage 1 (darkener), stage 2 (two views of
   each day image, the second darkened);
4. evaluates both on test_day and test_night, prints a table and writes
   results.json and a picture grid (day, D(day), night, label and both
   models' predictions at night) to the work dir.
"""
import argparse
import json
import os
import os.path as osp
import time
import warnings

import demo  # tools/demo.py: warning filters, mmsimmm, shared helpers
import cv2
import numpy as np
import torch
from mmengine.config import Config

from mmsimmm.datasets import generate_synthetic_objects

# mmcv's colour jitter warns on every image; not actionable here
warnings.filterwarnings('ignore', message=".*Only use 'alpha' for pillow")

BASELINE = 'cls/objects_baseline.py'
SMM = 'cls/objects_simmm.py'
METRICS = ('day/accuracy/top1', 'night/accuracy/top1')
TILE = 128  # pixels of one upscaled 64x64 image in the grid


def default_iterations():
    """(pretrain, darken, adapt) iterations of the demo configs."""
    base = Config.fromfile(osp.join(demo.CONFIGS, BASELINE))
    smm = Config.fromfile(osp.join(demo.CONFIGS, SMM))
    return base.pretrain_iters, smm.darken_iters, smm.adapt_iters


def train_baseline(work_dir, data_root, seed, pretrain, total):
    """Day-only training for `total` iterations; the F of SMM is the
    checkpoint at `pretrain`."""
    _, runner = demo.make_runner(
        BASELINE, work_dir, data_root, seed, 'baseline',
        train_cfg=dict(max_iters=total),
        param_scheduler=[
            dict(type='CosineAnnealingLR', eta_min=1e-5, begin=0, end=total,
                 by_epoch=False)
        ],
        default_hooks=dict(checkpoint=dict(interval=pretrain)))
    runner.train()
    return runner


def train_smm(work_dir, data_root, seed, load_from, darken, adapt,
              **overrides):
    """Stage 1 (`darken` iterations) then stage 2 (`adapt`) from the day
    checkpoint `load_from`."""
    _, runner = demo.make_runner(
        SMM, work_dir, data_root, seed, 'simmm',
        load_from=load_from,
        train_cfg=dict(darken_iters=darken, adapt_iters=adapt),
        param_scheduler=dict(task=[
            dict(type='CosineAnnealingLR', eta_min=1e-5, begin=darken,
                 end=darken + adapt, by_epoch=False)
        ]),
        default_hooks=dict(checkpoint=dict(interval=darken + adapt)),
        **overrides)
    runner.train()
    return runner


def predict_label(task_model, sample) -> int:
    """Predicted class index of one dataset sample (any device)."""
    batch = dict(inputs=[sample['inputs']],
                 data_samples=[sample['data_samples']])
    with torch.no_grad():
        return int(task_model.test_step(batch)[0].pred_label.cpu()[0])


def _tile(bgr):
    return cv2.resize(bgr, (TILE, TILE), interpolation=cv2.INTER_NEAREST)


def _text_panel(lines):
    """White (TILE, 2*TILE) panel with one (text, BGR colour) per line."""
    panel = np.full((TILE, 2 * TILE, 3), 255, np.uint8)
    for row, (text, colour) in enumerate(lines):
        cv2.putText(panel, text, (6, 28 + 34 * row),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return panel


def picture_grid(path, smm_model, baseline_model, day_set, night_set,
                 indices, seed):
    """Rows: test scenes (test_night[i] is test_day[i] at night); columns:
    day, D(day), night, and the label with both models' night predictions
    (green right, red wrong)."""
    classes = day_set.metainfo['classes']
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for index in indices:
        day, night = day_set[index], night_set[index]
        label = int(night['data_samples'].gt_label[0])
        lines = [(f'label: {classes[label]}', (0, 0, 0))]
        for name, model in (('baseline', baseline_model),
                            ('SMM', smm_model.task_model)):
            pred = predict_label(model, night)
            colour = (0, 140, 0) if pred == label else (0, 0, 200)
            lines.append((f'{name}@night: {classes[pred]}', colour))
        rows.append(np.concatenate([
            _tile(demo.to_bgr_image(day['inputs'])),
            _tile(demo.darkened_view(smm_model, day['inputs'], generator)),
            _tile(demo.to_bgr_image(night['inputs'])),
            _text_panel(lines)
        ], 1))
    grid = np.concatenate(rows, 0)
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    for col, text in enumerate(['day', 'D(day)', 'night', 'predictions']):
        cv2.putText(header, text, (col * TILE + 6, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.imwrite(path, np.concatenate([header, grid], 0))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=['cls'], default='cls')
    parser.add_argument('--work-dir', default='work_dirs/demo_cls')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--num-test', type=int, default=500)
    parser.add_argument(
        '--pretrain-iters', type=int, default=None,
        help='day iterations before adaptation (config default if unset)')
    parser.add_argument('--darken-iters', type=int, default=None)
    parser.add_argument('--adapt-iters', type=int, default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    work_dir = osp.abspath(args.work_dir)
    started = time.time()
    data_root = osp.join(work_dir, 'data')
    print(f'[1/4] synthetic day/night objects -> {data_root}', flush=True)
    generate_synthetic_objects(
        data_root, num_train=args.num_train, num_val=args.num_val,
        num_test=args.num_test, seed=args.seed)

    pretrain, darken, adapt = default_iterations()
    pretrain = args.pretrain_iters or pretrain
    darken = args.darken_iters or darken
    adapt = args.adapt_iters or adapt
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

    print('[4/4] evaluating on test_day and test_night', flush=True)
    results = {
        'day-only baseline': baseline.test(),
        'SMM (ours)': smm.test(),
    }
    table = ['| model | day top-1 | night top-1 |', '|---|---|---|']
    for name, metrics in results.items():
        day, night = (float(metrics[key]) for key in METRICS)
        table.append(f'| {name} | {day:.2f} | {night:.2f} |')
    day_set = smm.test_loop.dataloaders[0].dataset
    night_set = smm.test_loop.dataloaders[1].dataset
    grid_path = osp.join(work_dir, 'demo_grid.png')
    picture_grid(grid_path, smm.model, baseline.model, day_set, night_set,
                 list(range(0, len(day_set), max(1, len(day_set) // 8)))[:8],
                 args.seed)
    elapsed = time.time() - started
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results={k: {m: float(v[m]) for m in METRICS}
                                for k, v in results.items()},
                       seed=args.seed,
                       iterations=dict(pretrain=pretrain, darken=darken,
                                       adapt=adapt),
                       seconds=round(elapsed)), f, indent=2)
    print('\n'.join(['', *table, '', f'picture grid: {grid_path}',
                     f'total time: {elapsed / 60:.1f} min']))


if __name__ == '__main__':
    main()
