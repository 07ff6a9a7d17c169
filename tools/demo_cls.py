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
import warnings

import demo  # tools/demo.py: warning filters, mmsimmm, shared helpers
import cv2
import numpy as np
import torch

from mmsimmm.datasets import generate_synthetic_objects

# mmcv's colour jitter warns on every image; not actionable here
warnings.filterwarnings('ignore', message=".*Only use 'alpha' for pillow")

TILE = 128  # pixels of one upscaled 64x64 image in the grid


def _tile(bgr):
    return cv2.resize(bgr, (TILE, TILE), interpolation=cv2.INTER_NEAREST)


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
        lines = demo.prediction_lines(classes, label, night, smm_model,
                                      baseline_model)
        rows.append(np.concatenate([
            _tile(demo.to_bgr_image(day['inputs'])),
            _tile(demo.darkened_view(smm_model, day['inputs'], generator)),
            _tile(demo.to_bgr_image(night['inputs'])),
            demo.text_panel(lines, TILE, first_line=28, line_step=34,
                            font_scale=0.5)
        ], 1))
    demo.write_grid(path, rows, ['day', 'D(day)', 'night', 'predictions'],
                    TILE)


def generate_objects(data_root, args):
    generate_synthetic_objects(
        data_root, num_train=args.num_train, num_val=args.num_val,
        num_test=args.num_test, seed=args.seed)


TASK = demo.DemoTask(
    data_name='synthetic day/night objects', generate_data=generate_objects,
    baseline_config='cls/objects_baseline.py',
    smm_config='cls/objects_simmm.py',
    lr_schedule=dict(type='CosineAnnealingLR', eta_min=1e-5),
    test_name='test_day and test_night',
    metrics=('day/accuracy/top1', 'night/accuracy/top1'),
    metric_name='top-1', picture_grid=picture_grid, grid_rows=8)


def parse_args(argv=None):
    return demo.demo_arg_parser(
        __doc__, ['cls'], 'cls', 'work_dirs/demo_cls', num_train=2000,
        num_val=200, num_test=500).parse_args(argv)


def main(argv=None):
    demo.run_demo(TASK, parse_args(argv))


if __name__ == '__main__':
    main()
