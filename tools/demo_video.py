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
import demo  # tools/demo.py: warning filters, mmsimmm, shared helpers
import cv2
import numpy as np
import torch

from mmsimmm.datasets.synthetic_clips import (CLASSES,
                                              generate_synthetic_clips)

TILE = 96  # pixels of one upscaled 64x64 frame in the grid
SHOWN_FRAMES = (0, 4, 7)


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
        lines = demo.prediction_lines(CLASSES, label, night, smm_model,
                                      baseline_model)
        rows.append(np.concatenate([
            _tiles(frames),
            _tiles(darkened_clip(smm_model, frames, generator)),
            _tiles(clip_frames(night['inputs'])),
            demo.text_panel(lines, TILE, first_line=24, line_step=28,
                            font_scale=0.45)
        ], 1))
    demo.write_grid(path, rows, ['day', 'D(day), one E\' per clip', 'night',
                                 'predictions'], len(SHOWN_FRAMES) * TILE)


def generate_clips(data_root, args):
    generate_synthetic_clips(data_root, num_train=args.num_train,
                             num_test=args.num_test, seed=args.seed)


TASK = demo.DemoTask(
    data_name='synthetic day/night clips', generate_data=generate_clips,
    baseline_config='video/clips_baseline.py',
    smm_config='video/clips_simmm.py',
    lr_schedule=dict(type='CosineAnnealingLR', eta_min=1e-4),
    test_name='the day and the night test clips',
    metrics=('day/acc/top1', 'night/acc/top1'), metric_name='top-1',
    picture_grid=picture_grid, grid_rows=6, metric_scale=100)


def parse_args(argv=None):
    return demo.demo_arg_parser(
        __doc__, ['video'], 'video', 'work_dirs/demo_video', num_train=360,
        num_test=120).parse_args(argv)


def main(argv=None):
    demo.run_demo(TASK, parse_args(argv))


if __name__ == '__main__':
    main()
