# Copyright (c) OpenMMLab. All rights reserved.
"""Procedural day/night video clips for the action-recognition demo.

Each clip shows one object (a random shape, colour and texture from
:mod:`mmsimmm.datasets.synthetic_objects`) moving over a static textured,
cluttered surface; the class is the motion, so it cannot be told from one
frame: ``right``, ``left``, ``up``, ``down`` (the object slides across the
frame), ``approach`` (it grows) and ``recede`` (it shrinks). Night clips are
the same scenes under a physically motivated low-light model in linear
radiance (dim ambient sky glow, one or two lamps with inverse-square
fall-off, vignetting and glare, and a sensor with photon shot noise, read
noise, auto-exposure locked for the clip and 8-bit sRGB quantisation): not a
per-pixel tone curve, so the darkener of SMM cannot reproduce it exactly.

The clips are written as real mp4 files (``mp4v``) that mmaction2 decodes
with decord, in the layout of docs/arid.md::

    day/videos/<class>/<class>_<index>.mp4     train and test_day clips
    day/train.txt                              "<class>/<file>.mp4 <label>"
    day/test.txt
    night/videos/<class>/<class>_<index>.mp4   the test scenes at night
    night/test.txt                             (same names as day/test.txt)
    .synthetic_clips.json
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .synthetic_objects import (CLASSES as SHAPES, _background,
                                _contrasting_colour, _lamp, _object_texture,
                                shape_mask)
from .synthetic_streets import (MOONLIGHT, SKY_AMBIENT, SODIUM, SUN_LIGHT,
                                _auto_exposure_gain, _lens_glare, _to_uint8,
                                _vignetting, linear_to_srgb)

__all__ = [
    'CLASSES', 'generate_synthetic_clips', 'render_day_clip',
    'render_night_clip'
]

FORMAT_VERSION = 1
MARKER_NAME = '.synthetic_clips.json'
CLASSES = ('right', 'left', 'up', 'down', 'approach', 'recede')
SPLIT_STREAMS = {'train': 0, 'test': 1}
DAY_STREAM, NIGHT_STREAM = 0, 1
SUPERSAMPLING = 2  # drawn at 2x and area-downsampled (no jaggies)
FPS = 10


def _trajectory(rng, label: int, frames: int) -> List[Tuple[float, ...]]:
    """(centre x, centre y, radius), as fractions of the frame size, per
    frame: a slide of 0.35-0.5 of the frame, or a 2x change of size."""
    t = np.linspace(0.0, 1.0, frames)
    x0, y0 = rng.uniform(0.35, 0.65, 2)
    radius = rng.uniform(0.13, 0.18)
    travel = rng.uniform(0.35, 0.5)
    name = CLASSES[label]
    xs, ys, radii = np.full(frames, x0), np.full(frames, y0), np.full(
        frames, radius)
    if name in ('right', 'left'):
        sign = 1 if name == 'right' else -1
        xs = 0.5 + sign * travel * (t - 0.5) + rng.uniform(-0.05, 0.05)
    elif name in ('up', 'down'):
        sign = 1 if name == 'down' else -1
        ys = 0.5 + sign * travel * (t - 0.5) + rng.uniform(-0.05, 0.05)
    else:
        grow = np.exp(np.log(2.0) * (t - 0.5))  # x0.7 -> x1.4
        radii = radius * 1.2 * (grow if name == 'approach' else grow[::-1])
    return list(zip(xs, ys, radii))


def _clip_albedo(rng, size, label: int, frames: int):
    """Linear albedo (T, H, W, 3) and object masks (T, H, W) of a clip."""
    height, width = size[0] * SUPERSAMPLING, size[1] * SUPERSAMPLING
    surface = _background(rng, (height, width))
    shape = SHAPES[rng.integers(len(SHAPES))]
    colour = _contrasting_colour(rng, surface)
    angle = rng.uniform(0, 2 * np.pi)
    texture_rng_state = rng.integers(2**31)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    albedos, masks = [], []
    for cx, cy, radius in _trajectory(rng, label, frames):
        scale = radius * min(height, width)
        dx, dy = (x - cx * width) / scale, (y - cy * height) / scale
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        mask = shape_mask(shape, u, v)
        # the same texture on the object in every frame
        texture = _object_texture(np.random.default_rng(texture_rng_state),
                                  u, v)
        albedo = np.where(mask[..., None], colour * texture[..., None],
                          surface)
        small = (size[1], size[0])
        albedos.append(cv2.resize(albedo, small, interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize(mask.astype(np.float32), small,
                                interpolation=cv2.INTER_AREA))
    return np.stack(albedos).astype(np.float32), np.stack(masks)


def render_day_clip(rng: np.random.Generator, size: Sequence[int],
                    label: int, frames: int = 8):
    """A day clip of class ``label``.

    Returns:
        tuple: ``(clip, albedo)``: (T, H, W, 3) uint8 sRGB frames and the
        (T, H, W, 3) float32 linear albedo (what the night renderer lights).
    """
    if not 0 <= int(label) < len(CLASSES):
        raise ValueError(f'label must be in [0, {len(CLASSES)}), got {label}')
    if frames < 2:
        raise ValueError(f'a clip needs at least 2 frames, got {frames}')
    albedo, mask = _clip_albedo(rng, tuple(size), int(label), frames)
    irradiance = SKY_AMBIENT * rng.uniform(0.8, 1.2) + \
        SUN_LIGHT * rng.uniform(0.5, 1.1)
    radiance = albedo * irradiance * (1 + 0.15 * mask[..., None])
    return _to_uint8(linear_to_srgb(radiance)), albedo


def render_night_clip(albedo: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """The night version of a clip from its linear albedo (T, H, W, 3):
    one lighting set-up and one sensor (auto-exposure locked on the first
    frame) for the whole clip, fresh shot and read noise in every frame.

    Returns:
        np.ndarray: (T, H, W, 3) uint8 RGB night frames.
    """
    albedo = np.asarray(albedo, np.float32)
    if albedo.ndim != 4 or albedo.shape[-1] != 3:
        raise ValueError(f'albedo must be (T, H, W, 3), got {albedo.shape}')
    size = albedo.shape[1:3]
    exposure = rng.uniform(0.02, 0.06)
    glow = rng.random()
    irradiance = np.broadcast_to(
        exposure * (glow * SODIUM + (1 - glow) * MOONLIGHT),
        albedo.shape[1:]).copy()
    emission = np.zeros(albedo.shape[1:], np.float32)
    for _ in range(rng.integers(1, 3)):
        lamp_irradiance, lamp_emission = _lamp(rng, size)
        irradiance += lamp_irradiance
        emission += lamp_emission
    radiance = (albedo * irradiance + _lens_glare(emission)) * \
        _vignetting(size)
    electrons_per_unit = rng.uniform(2500, 8000)
    read_noise = rng.uniform(1.5, 4.0)
    target = rng.uniform(0.06, 0.11)
    gain = None
    frames = []
    for frame in radiance:
        photons = rng.poisson(np.clip(frame, 0, 50) * electrons_per_unit)
        electrons = photons + rng.normal(0, read_noise, frame.shape)
        signal = (electrons / electrons_per_unit).astype(np.float32)
        if gain is None:
            gain = _auto_exposure_gain(signal, target)
        frames.append(_to_uint8(linear_to_srgb(signal * gain)))
    return np.stack(frames)


def write_mp4(path: str, clip: np.ndarray, fps: int = FPS) -> None:
    """(T, H, W, 3) uint8 RGB frames -> an mp4 (mp4v) file."""
    height, width = clip.shape[1:3]
    if width % 32:
        # decord 0.6 misreads frames whose width is not a multiple of 32
        raise ValueError(f'clip width must be a multiple of 32, got {width}')
    os.makedirs(osp.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise OSError(f'cannot write {path} (OpenCV has no mp4v encoder?)')
    for frame in clip:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()


def _params(num_train, num_test, size, frames, seed) -> dict:
    for name, value in (('num_train', num_train), ('num_test', num_test),
                        ('seed', seed), ('frames', frames)):
        if int(value) != value or value < 0:
            raise ValueError(f'{name} must be a non-negative int, got '
                             f'{value!r}')
    return dict(version=FORMAT_VERSION, num_train=int(num_train),
                num_test=int(num_test), size=[int(size[0]), int(size[1])],
                frames=int(frames), seed=int(seed))


def _marker(root) -> Optional[dict]:
    path = osp.join(root, MARKER_NAME)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_split(tree, split, count, params):
    """Clip i has class i % 6, so every split is balanced."""
    lines = []
    for index in range(count):
        label = index % len(CLASSES)
        name = f'{CLASSES[label]}/{CLASSES[label]}_{index:05d}.mp4'
        stream = [params['seed'], SPLIT_STREAMS[split], index]
        day, albedo = render_day_clip(
            np.random.default_rng(stream + [DAY_STREAM]), params['size'],
            label, params['frames'])
        write_mp4(osp.join(tree, 'day', 'videos', name), day)
        if split == 'test':
            night = render_night_clip(
                albedo, np.random.default_rng(stream + [NIGHT_STREAM]))
            write_mp4(osp.join(tree, 'night', 'videos', name), night)
        lines.append(f'{name} {label}\n')
    with open(osp.join(tree, 'day', f'{split}.txt'), 'w') as f:
        f.writelines(lines)
    if split == 'test':
        os.makedirs(osp.join(tree, 'night'), exist_ok=True)
        with open(osp.join(tree, 'night', 'test.txt'), 'w') as f:
            f.writelines(lines)


def generate_synthetic_clips(root,
                             num_train: int = 360,
                             num_test: int = 120,
                             size: Sequence[int] = (64, 64),
                             frames: int = 8,
                             seed: int = 0) -> dict:
    """Write the synthetic day/night clip dataset under ``root``
    (deterministic by seed; skipped when ``root`` holds one made with the
    same parameters; written to a temporary sibling and renamed, so an
    interrupted run leaves no partial tree).

    Returns:
        dict: ``root``, ``generated``, ``counts``, ``classes``.
    """
    root = osp.abspath(osp.expanduser(str(root)))
    params = _params(num_train, num_test, size, frames, seed)
    summary = dict(root=root, counts=dict(train=params['num_train'],
                                          test=params['num_test']),
                   classes=CLASSES)
    existing = _marker(root)
    if existing == params:
        return dict(summary, generated=False)
    if osp.isdir(root) and os.listdir(root):
        raise FileExistsError(
            f'{root} is not empty and holds no synthetic clips made with '
            f'these parameters ({params}); choose another root')
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tree = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.', dir=parent)
    try:
        _write_split(tree, 'train', params['num_train'], params)
        _write_split(tree, 'test', params['num_test'], params)
        with open(osp.join(tree, MARKER_NAME), 'w') as f:
            json.dump(params, f, indent=2)
        if osp.isdir(root):
            os.rmdir(root)  # empty (checked above)
        os.rename(tree, root)
    finally:
        if osp.isdir(tree):
            shutil.rmtree(tree, ignore_errors=True)
    return dict(summary, generated=True)
