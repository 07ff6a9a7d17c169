"""Darken images or a video with a trained SMM darkener.

    python tools/darken.py CONFIG CHECKPOINT INPUT OUT [--exposure 0.05]
        [--view stage2|curve] [--device cpu|cuda] [--seed 0] [--grid-rows 4]

INPUT is a folder of images (searched recursively) or a video file. Without
``--exposure`` each image (each video: all its frames) gets a stage-2
exposure map E' of the model's ``night_exposure`` sampler (drawn from
``--seed``); with it, one fixed level.
``--view stage2`` (default) gives the view F trains on in stage 2
(``SimMinMax.darken_view``: D, then the configured sensor noise and 8-bit
quantisation); ``--view curve`` gives D's output alone.

Writes to OUT: the darkened images (same relative paths, .png) or
``<video>_dark.mp4``; ``darken_grid.png`` (day | darkened pairs captioned
with the requested exposure and the achieved mean); ``darken_summary.json``
(per image: requested exposure, darkened mean, day mean).
"""
import argparse
import json
import os
import os.path as osp
import sys

import mmsimmm  # noqa: F401  (version checks + compatibility fixes)
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from mmsimmm.visualization.darkening import (VIEWS, bgr_to_tensor,
                                             darken_images, exposure_caption,
                                             image_means, list_images,
                                             pair_grid, read_rgb,
                                             to_uint8_rgb)
from mmsimmm.visualization.loading import load_smm_model, resolve_device

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the SMM config of the checkpoint')
    parser.add_argument('checkpoint', help='an SMM checkpoint (with D)')
    parser.add_argument('input', help='a folder of images or a video file')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--exposure', type=float, default=None,
        help='fixed exposure level in [0, 1]; default: stage-2 maps E\'')
    parser.add_argument('--view', choices=VIEWS, default='stage2')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default=None,
                        help='default: cuda where available, else cpu')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the stage-2 exposure maps and noise')
    parser.add_argument('--grid-rows', type=int, default=4,
                        help='pairs in darken_grid.png (spread evenly)')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='video: darken at most this many frames')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, k=v')
    args = parser.parse_args(argv)
    if args.exposure is not None and not 0 <= args.exposure <= 1:
        parser.error(f'--exposure must be in [0, 1], got {args.exposure}')
    if args.grid_rows < 1:
        parser.error(f'--grid-rows must be >= 1, got {args.grid_rows}')
    return args


class Darkening:
    """Darkens one image at a time and keeps the numbers and grid rows."""

    def __init__(self, model, args, device: str, grid_positions):
        self.model, self.args, self.device = model, args, device
        self.generator = torch.Generator(device=device).manual_seed(
            args.seed)
        self.grid_positions = set(grid_positions)
        self.grid_rows = []
        self.records = []
        self.exposure_map = None

    def __call__(self, name: str, day: torch.Tensor,
                 same_map: bool = False) -> np.ndarray:
        """Darken (3, H, W) RGB in [0, 1]; returns the BGR uint8 image.
        ``same_map``: reuse the previous image's stage-2 exposure map (the
        frames of a video)."""
        exposure = self.args.exposure
        if exposure is None and same_map and self.exposure_map is not None:
            exposure = self.exposure_map
        dark, self.exposure_map = darken_images(
            self.model, day[None].to(self.device), exposure, self.generator,
            self.args.view)
        record = dict(
            file=name,
            requested_exposure=self.exposure_map.mean().item(),
            dark_mean=image_means(dark).item(),
            day_mean=image_means(day[None]).item())
        if len(self.records) in self.grid_positions:
            self.grid_rows.append((day, dark[0].cpu(), record))
        self.records.append(record)
        return np.ascontiguousarray(to_uint8_rgb(dark[0])[..., ::-1])

    def write_grid(self, path: str) -> None:
        height, width = self.grid_rows[0][0].shape[-2:]

        def fit(img):  # rows of the grid share the first one's size
            return F.interpolate(img[None], size=(height, width),
                                 mode='bilinear', align_corners=False)[0]

        day = torch.stack([fit(d) for d, _, _ in self.grid_rows])
        dark = torch.stack([fit(d) for _, d, _ in self.grid_rows])
        captions = [
            exposure_caption(r['requested_exposure'], r['dark_mean'],
                             r['day_mean']) for _, _, r in self.grid_rows
        ]
        grid = pair_grid(day, dark, captions, titles=('day', 'D(day)'))
        cv2.imwrite(path, np.ascontiguousarray(grid[..., ::-1]))

    def summary(self) -> dict:
        records = self.records

        def mean(key):
            return float(np.mean([r[key] for r in records]))

        return dict(
            exposure=('stage-2 maps' if self.args.exposure is None else
                      self.args.exposure),
            view=self.args.view,
            seed=self.args.seed,
            count=len(records),
            mean_requested_exposure=mean('requested_exposure'),
            mean_dark_mean=mean('dark_mean'),
            mean_day_mean=mean('day_mean'),
            images=records)


def evenly_spaced(count: int, rows: int):
    return sorted({int(round(i)) for i in np.linspace(0, count - 1,
                                                      min(rows, count))})


def darken_folder(darkening: Darkening, folder: str, out: str,
                  names) -> None:
    progress = ProgressBar(len(names))
    for name in names:
        bgr = darkening(name, read_rgb(osp.join(folder, name)))
        target = osp.join(out, osp.splitext(name)[0] + '.png')
        os.makedirs(osp.dirname(target), exist_ok=True)
        if not cv2.imwrite(target, bgr):
            raise SystemExit(f'{target}: could not be written')
        progress.update()


def darken_video(darkening: Darkening, capture, path: str, out: str,
                 frames: int) -> str:
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    target = osp.join(out,
                      osp.splitext(osp.basename(path))[0] + '_dark.mp4')
    writer = None
    progress = ProgressBar(frames)
    for index in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        # one E' map for the whole video: no flicker between frames
        bgr = darkening(f'frame_{index:06d}', bgr_to_tensor(frame),
                        same_map=True)
        if writer is None:
            height, width = bgr.shape[:2]
            writer = cv2.VideoWriter(target, cv2.VideoWriter_fourcc(*'mp4v'),
                                     fps, (width, height))
            if not writer.isOpened():
                raise SystemExit(f'{target}: no mp4v video writer here')
        writer.write(bgr)
        progress.update()
    if writer is not None:
        writer.release()
    return target


def main(argv=None):
    args = parse_args(argv)
    device = resolve_device(args.device)
    if not osp.exists(args.input):
        raise SystemExit(f'input not found: {args.input}')
    capture = None
    if osp.isdir(args.input):
        names = list_images(args.input)
        if not names:
            raise SystemExit(f'{args.input}: holds no image files')
        count = len(names)
    else:
        if not args.input.lower().endswith(VIDEO_SUFFIXES):
            raise SystemExit(f'{args.input}: neither a folder nor a video '
                             f'({", ".join(VIDEO_SUFFIXES)})')
        capture = cv2.VideoCapture(args.input)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if not capture.isOpened() or count <= 0:
            raise SystemExit(f'{args.input}: not a readable video')
        count = min(count, args.max_frames or count)
    model = load_smm_model(args.config, args.checkpoint, device,
                           args.cfg_options)
    os.makedirs(args.out, exist_ok=True)
    darkening = Darkening(model, args, device,
                          evenly_spaced(count, args.grid_rows))
    if capture is None:
        darken_folder(darkening, args.input, args.out, names)
        written = f'{count} images'
    else:
        written = darken_video(darkening, capture, args.input, args.out,
                               count)
        capture.release()
    if not darkening.records:
        raise SystemExit(f'{args.input}: no frame could be read')
    grid_path = osp.join(args.out, 'darken_grid.png')
    darkening.write_grid(grid_path)
    summary = dict(config=args.config, checkpoint=args.checkpoint,
                   device=device, **darkening.summary())
    with open(osp.join(args.out, 'darken_summary.json'), 'w') as file:
        json.dump(summary, file, indent=2)
    requested = summary['mean_requested_exposure']
    achieved = summary['mean_dark_mean']
    print(f'\n{written} -> {args.out}\n'
          f'requested exposure (mean) {requested:.3f} -> darkened mean '
          f'{achieved:.3f} (x{achieved / max(requested, 1e-6):.1f}); day '
          f"mean {summary['mean_day_mean']:.3f}\ngrid: {grid_path}")


if __name__ == '__main__':
    sys.exit(main())
