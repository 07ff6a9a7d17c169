"""CPU demo of Similarity Min-Max on embedded synthetic video clips (action
recognition, mmaction2 I3D).

    python tools/demo.py --task video [--work-dir DIR] [--seed 0]

1. makes the day/night clips (mmsimmm.datasets.synthetic_clips: 6 motion
   classes, 8 frames of 64x64, mp4 files in the ARID layout of docs/arid.md;
   no download, deterministic by seed);
2. trains the day-only baseline (configs/demo/video/clips_baseline.py);
3. trains SMM (configs/demo/video/clips_simmm.py) from the baseline's
   checkpoint at `pretrain_iters`: stage 1 (darkener, one E per frame),
   stage 2 (day clip + darkened clip, one E' per clip);
4. evaluates both on the day and the night test clips (the same scenes),
   prints a table and writes results.json and a picture grid (frames of the
   day clip, D(day) and the night clip, label and both models' night
   predictions) to the work dir.
"""
import argparse
import json
import os
import os.path as osp
import time

import demo  # tools/demo.py: warning filters, mmsimmm, shared helpers
import cv2
import numpy as np
import torch
from mmengine.config import Config

from mmsimmm.datasets.synthetic_clips import (CLASSES,
                                              generate_synthetic_clips)

BASELINE = 'video/clips_baseline.py'
SMM = 'video/clips_simmm.py'
METRICS = ('day/acc/top1', 'night/acc/top1')
TILE = 96  # pixels of one upscaled 64x64 frame in the grid
SHOWN_FRAMES = (0, 4, 7)


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
            dict(type='CosineAnnealingLR', eta_min=1e-4, begin=0, end=total,
                 by_epoch=False)
        ],
        default_hooks=dict(checkpoint=dict(interval=pretrain)))
    runner.train()
    return runner


def train_smm(work_dir, data_root, seed, load_from, darken, adapt):
    """Stage 1 (`darken` iterations) then stage 2 (`adapt`) from the day
    checkpoint `load_from`."""
    _, runner = demo.make_runner(
        SMM, work_dir, data_root, seed, 'simmm',
        load_from=load_from,
        train_cfg=dict(darken_iters=darken, adapt_iters=adapt),
        param_scheduler=dict(task=[
            dict(type='CosineAnnealingLR', eta_min=1e-4, begin=darken,
                 end=darken + adapt, by_epoch=False)
        ]),
        default_hooks=dict(checkpoint=dict(interval=darken + adapt)))
    runner.train()
    return runner


def predict_label(task_model, sample) -> int:
    """Predicted class index of one dataset sample (any device)."""
    batch = dict(inputs=[sample['inputs']],
                 data_samples=[sample['data_samples']])
    with torch.no_grad():
        return int(task_model.test_step(batch)[0].pred_label.cpu().reshape(
            -1)[0])


def clip_frames(inputs) -> torch.Tensor:
    """One sample's (1, 3, T, H, W) uint8 RGB clip -> (T, 3, H, W) RGB in
    [0, 1] on the CPU."""
    return inputs[0].cpu().transpose(0, 1).float() / 255


def darkened_clip(smm_model, frames, generator) -> torch.Tensor:
    """D(clip) of (T, 3, H, W) RGB frames under one stage-2 exposure map for
    the whole clip, drawn on the CPU by ``generator`` (the same picture on
    every device)."""
    exposure = smm_model.night_exposure(1, frames.shape[-2:],
                                        generator=generator)
    exposure = exposure.expand(len(frames), -1, -1, -1)
    device = demo.model_device(smm_model.darkener)
    with torch.no_grad():
        dark = smm_model.darkener(frames.to(device), exposure.to(device))
    return dark.clamp(0, 1).cpu()


def _tiles(frames) -> np.ndarray:
    """The SHOWN_FRAMES of (T, 3, H, W) RGB [0, 1] frames side by side,
    upscaled, BGR uint8."""
    tiles = []
    for t in SHOWN_FRAMES:
        rgb = (frames[t].permute(1, 2, 0).cpu().numpy() * 255).round()
        tiles.append(cv2.resize(rgb.astype(np.uint8)[..., ::-1],
                                (TILE, TILE),
                                interpolation=cv2.INTER_NEAREST))
    return np.concatenate(tiles, 1)


def picture_grid(path, smm_model, baseline_model, day_set, night_set,
                 indices, seed):
    """Rows: test clips (night[i] is day[i] at night); columns: frames of
    the day clip, of D(day) and of the night clip, and the label with both
    models' night predictions (green right, red wrong)."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for index in indices:
        day, night = day_set[index], night_set[index]
        label = int(night['data_samples'].gt_label.reshape(-1)[0])
        frames = clip_frames(day['inputs'])
        panel = np.full((TILE, 2 * TILE, 3), 255, np.uint8)
        lines = [(f'label: {CLASSES[label]}', (0, 0, 0))]
        for name, model in (('baseline', baseline_model),
                            ('SMM', smm_model.task_model)):
            pred = predict_label(model, night)
            colour = (0, 140, 0) if pred == label else (0, 0, 200)
            lines.append((f'{name}@night: {CLASSES[pred]}', colour))
        for row, (text, colour) in enumerate(lines):
            cv2.putText(panel, text, (6, 24 + 28 * row),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                        cv2.LINE_AA)
        rows.append(np.concatenate([
            _tiles(frames),
            _tiles(darkened_clip(smm_model, frames, generator)),
            _tiles(clip_frames(night['inputs'])), panel
        ], 1))
    grid = np.concatenate(rows, 0)
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    width = len(SHOWN_FRAMES) * TILE
    for col, text in enumerate(['day', 'D(day), one E\' per clip', 'night',
                                'predictions']):
        cv2.putText(header, text, (col * width + 6, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.imwrite(path, np.concatenate([header, grid], 0))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=['video'], default='video')
    parser.add_argument('--work-dir', default='work_dirs/demo_video')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=360)
    parser.add_argument('--num-test', type=int, default=120)
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
    print(f'[1/4] synthetic day/night clips -> {data_root}', flush=True)
    generate_synthetic_clips(data_root, num_train=args.num_train,
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

    print('[4/4] evaluating on the day and the night test clips', flush=True)
    results = {
        'day-only baseline': baseline.test(),
        'SMM (ours)': smm.test(),
    }
    table = ['| model | day top-1 | night top-1 |', '|---|---|---|']
    for name, metrics in results.items():
        day, night = (100 * float(metrics[key]) for key in METRICS)
        table.append(f'| {name} | {day:.2f} | {night:.2f} |')
    day_set = smm.test_loop.dataloaders[0].dataset
    night_set = smm.test_loop.dataloaders[1].dataset
    grid_path = osp.join(work_dir, 'demo_grid.png')
    step = max(1, len(day_set) // 6)
    picture_grid(grid_path, smm.model, baseline.model, day_set, night_set,
                 list(range(0, len(day_set), step))[:6], args.seed)
    elapsed = time.time() - started
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results={k: {m: 100 * float(v[m]) for m in METRICS}
                                for k, v in results.items()},
                       seed=args.seed,
                       iterations=dict(pretrain=pretrain, darken=darken,
                                       adapt=adapt),
                       seconds=round(elapsed)), f, indent=2)
    print('\n'.join(['', *table, '', f'picture grid: {grid_path}',
                     f'total time: {elapsed / 60:.1f} min']))


if __name__ == '__main__':
    main()
