# Copyright (c) OpenMMLab. All rights reserved.
"""Procedural day/night object images in the CODaN on-disk layout.

The classification demo needs a dataset that can be made offline in seconds:
labelled day images for training, and day and night test images for zero-shot
day->night evaluation. Each image shows one of 10 shapes (the class) with a
random colour, texture, size, rotation and position on a textured, cluttered
background. Night images come from a physically motivated low-light model in
linear radiance (the exposure drops to moonlight/sky-glow levels, one or two
lamps at random positions light the scene with inverse-square fall-off and
may be in view, lenses vignette and glare, and a sensor with photon shot
noise and read noise records it with auto-exposure and 8-bit sRGB
quantisation). That is not a per-pixel tone curve, so the darkener of SMM
cannot reproduce it exactly.

Layout written under ``root`` (readable by :class:`mmsimmm.CODaNDataset`
with ``metainfo=dict(classes=CLASSES)``, or by mmpretrain's
``CustomDataset``)::

    train/<class>/<class>_<index>.png        day
    val/<class>/...                          day (model selection)
    test_day/<class>/...                     day
    test_night/<class>/...                   night, the same scenes as
                                             test_day (paired by file name)
    .synthetic_objects.json

The sensor model, sRGB transfer functions, value noise and vignetting are
those of :mod:`mmsimmm.datasets.synthetic_streets`.
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Sequence, Tuple

import cv2
import numpy as np

from .synthetic_publish import check_non_negative_ints, generate_once
from .synthetic_streets import (MOONLIGHT, SODIUM, SUN_LIGHT, SKY_AMBIENT,
                                WHITE_LED, _fbm, _lens_glare,
                                _simulate_sensor, _to_uint8, _vignetting,
                                linear_to_srgb, srgb_to_linear)

__all__ = [
    'CLASSES', 'SPLITS', 'generate_synthetic_objects', 'render_day_object',
    'render_night_object', 'shape_mask'
]

# 2: muted, near grey-world colours (version 1 made the darkener collapse to
# black through the colour loss); older trees are regenerated
FORMAT_VERSION = 2
MARKER_NAME = '.synthetic_objects.json'
# Sorted, so a folder scan (mmpretrain's CustomDataset) gives the same
# indices as the class list.
CLASSES = ('bars', 'crescent', 'cross', 'disc', 'frame', 'hexagon', 'ring',
           'square', 'star', 'triangle')
SPLITS = ('train', 'val', 'test_day', 'test_night')
# Separate seed streams keep image i of a split identical whatever the
# other counts are; test_night reuses the test_day scenes.
SPLIT_STREAMS = {'train': 0, 'val': 1, 'test_day': 2}
DAY_STREAM, NIGHT_STREAM = 0, 1
SUPERSAMPLING = 2  # shapes are drawn at 2x and area-downsampled (no jaggies)


# --------------------------------------------------------------------------
# Shapes: boolean masks in object coordinates (u, v), radius ~1.
# --------------------------------------------------------------------------
def _regular_polygon(u, v, sides, radius=1.0):
    """Inside of a regular polygon with its circumradius ``radius``."""
    angle = np.arctan2(v, u)
    sector = 2 * np.pi / sides
    local = np.mod(angle, sector) - sector / 2
    return np.hypot(u, v) * np.cos(local) < radius * np.cos(sector / 2)


def _star(u, v, points=5, inner=0.45):
    angle = np.arctan2(v, u) + np.pi / 2
    sector = 2 * np.pi / points
    t = np.abs(np.mod(angle, sector) / sector - 0.5) * 2  # 1 at the tips
    return np.hypot(u, v) < inner + (1 - inner) * t**2.2


def shape_mask(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pixels of shape ``name`` at object coordinates ``(u, v)``."""
    r = np.hypot(u, v)
    box = np.maximum(np.abs(u), np.abs(v))
    if name == 'disc':
        return r < 0.95
    if name == 'ring':
        return (r < 0.95) & (r > 0.6)
    if name == 'square':
        return box < 0.8
    if name == 'frame':
        return (box < 0.85) & (box > 0.52)
    if name == 'triangle':
        return _regular_polygon(u, v + 0.2, 3, 1.1)
    if name == 'hexagon':
        return _regular_polygon(u, v, 6, 0.95)
    if name == 'cross':
        return ((np.abs(u) < 0.28) & (np.abs(v) < 0.95)) | (
            (np.abs(v) < 0.28) & (np.abs(u) < 0.95))
    if name == 'star':
        return _star(u, v)
    if name == 'crescent':
        return (r < 0.95) & (np.hypot(u - 0.45, v + 0.1) > 0.75)
    if name == 'bars':
        return (np.abs(u) < 0.9) & (np.abs(v) > 0.2) & (np.abs(v) < 0.65)
    raise KeyError(f"unknown shape '{name}' (known: {', '.join(CLASSES)})")


# --------------------------------------------------------------------------
# Day scene: an object lying on a textured, cluttered surface under sky +
# sun. Everything is albedo (linear) times irradiance.
# --------------------------------------------------------------------------
# Saturation ranges: surfaces that fill the frame are muted, as in photos
# (near grey-world on average, which the darkener's colour-consistency loss
# assumes); small things may be vivid.
SURFACE_SATURATION = (0.0, 0.3)
THING_SATURATION = (0.1, 0.6)


def _random_colour(rng, saturation=THING_SATURATION) -> np.ndarray:
    """A linear albedo from a random hue, saturation and lightness."""
    hue = rng.uniform(0, 180)
    sat = rng.uniform(*saturation)
    val = rng.uniform(0.25, 0.95)
    hsv = np.array([[[hue, sat * 255, val * 255]]], np.float32)
    srgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0] / 255
    return srgb_to_linear(np.clip(srgb, 0.03, 0.97))


def _background(rng, size) -> np.ndarray:
    """Two colours mixed by value noise, with a few clutter blobs and
    strokes (distractors that are none of the classes)."""
    height, width = size
    first = _random_colour(rng, SURFACE_SATURATION)
    second = _random_colour(rng, SURFACE_SATURATION)
    mix = _fbm(rng, size, [max(2, height // c) for c in (3, 6, 12)])
    albedo = first * mix[..., None] + second * (1 - mix[..., None])
    grain = _fbm(rng, size, [2, 4])
    albedo = albedo * (0.8 + 0.4 * grain[..., None])
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for _ in range(rng.integers(1, 4)):
        colour = _random_colour(rng)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        if rng.random() < 0.5:
            rx, ry = rng.uniform(0.03, 0.12, 2) * width
            blob = ((x - cx) / rx)**2 + ((y - cy) / ry)**2 < 1
        else:  # a thin stroke
            angle = rng.uniform(0, np.pi)
            length = rng.uniform(0.15, 0.5) * width
            along = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
            across = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
            blob = (np.abs(along) < length / 2) & (
                np.abs(across) < rng.uniform(0.01, 0.03) * width)
        albedo[blob] = colour
    return albedo.astype(np.float32)


def _contrasting_colour(rng, background, min_contrast=0.2) -> np.ndarray:
    """An object albedo whose sRGB lightness differs from the mean of the
    background by at least ``min_contrast`` (by day the object stands out;
    at night noise and dim light eat that margin)."""
    level = linear_to_srgb(background.mean((0, 1))).mean()
    for _ in range(20):
        colour = _random_colour(rng)
        if abs(linear_to_srgb(colour).mean() - level) >= min_contrast:
            break
    return colour


def _object_texture(rng, u, v) -> np.ndarray:
    """Albedo modulation of the object: plain, stripes or spots."""
    kind = rng.integers(3)
    if kind == 0:
        return np.ones_like(u)
    if kind == 1:
        angle = rng.uniform(0, np.pi)
        freq = rng.uniform(2.5, 6)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.sin(freq * np.pi * (u * np.cos(angle) + v * np.sin(angle)) +
                   phase)
        return 0.75 + 0.25 * np.sign(t)
    spots = np.sin(rng.uniform(5, 9) * u + rng.uniform(0, 6)) * np.sin(
        rng.uniform(5, 9) * v + rng.uniform(0, 6))
    return 0.7 + 0.3 * (spots > 0.3)


def _scene(rng, size, label):
    """Albedo (H, W, 3) at ``size`` and the object mask, for class index
    ``label``; drawn at supersampled resolution."""
    height, width = size[0] * SUPERSAMPLING, size[1] * SUPERSAMPLING
    albedo = _background(rng, (height, width))
    radius = rng.uniform(0.26, 0.38) * min(height, width)
    # near the centre, as photographed objects are (crops keep most of it)
    cx = (0.5 + rng.uniform(-0.12, 0.12)) * width
    cy = (0.5 + rng.uniform(-0.12, 0.12)) * height
    angle = rng.uniform(0, 2 * np.pi)
    aspect = rng.uniform(0.85, 1.15)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    dx, dy = (x - cx) / radius, (y - cy) / radius
    u = (dx * np.cos(angle) + dy * np.sin(angle)) * aspect
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / aspect
    mask = shape_mask(CLASSES[label], u, v)
    # the object casts a soft shadow on the surface (sun from the top-left)
    offset = int(round(rng.uniform(0.04, 0.1) * radius * 2))
    shadow = np.zeros((height, width), np.float32)
    shadow[offset:, offset:] = mask[:height - offset, :width - offset]
    shadow = cv2.GaussianBlur(shadow, (0, 0), 1 + 0.05 * radius)
    colour = _contrasting_colour(rng, albedo)
    texture = _object_texture(rng, u, v)
    obj = colour * texture[..., None]
    albedo = np.where(mask[..., None], obj, albedo)
    small = (size[1], size[0])
    albedo = cv2.resize(albedo, small, interpolation=cv2.INTER_AREA)
    shadow = cv2.resize(shadow, small, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask.astype(np.float32), small,
                      interpolation=cv2.INTER_AREA)
    return albedo.astype(np.float32), shadow, mask


def render_day_object(rng: np.random.Generator, size: Sequence[int],
                      label: int) -> Tuple[np.ndarray, np.ndarray]:
    """A day image of class ``label``.

    Returns:
        tuple: ``(image, albedo)``: (H, W, 3) uint8 sRGB day image and the
        (H, W, 3) float32 linear albedo of the scene (what the night
        renderer lights).
    """
    if not 0 <= int(label) < len(CLASSES):
        raise ValueError(f'label must be in [0, {len(CLASSES)}), got {label}')
    albedo, shadow, mask = _scene(rng, tuple(size), int(label))
    sun = SUN_LIGHT * rng.uniform(0.5, 1.1) * (1 - 0.8 * shadow *
                                               (1 - mask))[..., None]
    # overcast to sunny; objects catch a little more light (they stand up)
    irradiance = SKY_AMBIENT * rng.uniform(0.8, 1.2) + sun
    radiance = albedo * irradiance * (1 + 0.15 * mask[..., None])
    return _to_uint8(linear_to_srgb(radiance)), albedo


# --------------------------------------------------------------------------
# Night: the same albedo under ambient sky glow and lamps, through a noisy
# sensor with auto-exposure.
# --------------------------------------------------------------------------
def _lamp(rng, size):
    """Irradiance and emitted radiance of one lamp above the surface."""
    height, width = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    # lamps sit anywhere, often outside the frame, some metres up
    lx = rng.uniform(-0.3, 1.3) * width
    ly = rng.uniform(-0.3, 1.3) * height
    lift = rng.uniform(0.15, 0.6) * max(height, width)
    dist2 = (x - lx)**2 + (y - ly)**2 + lift**2
    colour = (SODIUM if rng.random() < 0.5 else WHITE_LED) * rng.uniform(
        0.85, 1.15, 3).astype(np.float32)
    # inverse-square with the cosine of incidence: lift / dist
    power = rng.uniform(0.3, 1.5) * lift**2
    irradiance = (power * lift / dist2**1.5)[..., None] * colour
    emission = np.zeros((height, width, 3), np.float32)
    inside = 0 <= lx < width and 0 <= ly < height
    if inside and rng.random() < 0.6:  # the bulb itself is in view
        core = np.clip(1.5 - np.sqrt((x - lx)**2 + (y - ly)**2) / 1.2, 0, 1)
        emission += (rng.uniform(4, 12) * core)[..., None] * colour
    return irradiance.astype(np.float32), emission


def render_night_object(albedo: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Render the night-time version of a scene from its linear albedo.

    Daylight is replaced by a dim ambient level (sky glow and moonlight,
    2-6% of day) and one or two lamps with inverse-square fall-off that may
    be in view; vignetting and lens glare follow; a noisy 8-bit sensor with
    auto-exposure records the result (see ``synthetic_streets``).

    Args:
        albedo: (H, W, 3) float32 linear albedo (from
            :func:`render_day_object`).
        rng: Source of all randomness of the night version.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB night image.
    """
    albedo = np.asarray(albedo, np.float32)
    if albedo.ndim != 3 or albedo.shape[-1] != 3:
        raise ValueError(f'albedo must be (H, W, 3), got {albedo.shape}')
    size = albedo.shape[:2]
    exposure = rng.uniform(0.02, 0.06)
    glow = rng.random()
    ambient = exposure * (glow * SODIUM + (1 - glow) * MOONLIGHT)
    irradiance = np.broadcast_to(ambient, albedo.shape).copy()
    emission = np.zeros_like(albedo)
    for _ in range(rng.integers(1, 3)):
        lamp_irradiance, lamp_emission = _lamp(rng, size)
        irradiance += lamp_irradiance
        emission += lamp_emission
    radiance = albedo * irradiance + _lens_glare(emission)
    radiance *= _vignetting(size)
    return _simulate_sensor(radiance, rng)


# --------------------------------------------------------------------------
# Dataset on disk.
# --------------------------------------------------------------------------
def _params(num_train, num_val, num_test, size, seed) -> dict:
    if len(size) != 2 or min(int(size[0]), int(size[1])) < 16:
        raise ValueError(f'size must be (height, width) >= 16, got {size}')
    check_non_negative_ints(num_train=num_train, num_val=num_val,
                            num_test=num_test, seed=seed)
    return dict(
        version=FORMAT_VERSION,
        num_train=int(num_train),
        num_val=int(num_val),
        num_test=int(num_test),
        size=[int(size[0]), int(size[1])],
        seed=int(seed))


def _save(path, rgb):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f'failed to write {path}')


def _write_split(tree, split, count, params):
    """Image i has class i % 10, so every split is balanced."""
    seed, size = params['seed'], tuple(params['size'])
    for index in range(count):
        label = index % len(CLASSES)
        name = f'{CLASSES[label]}_{index:05d}.png'
        stream = [seed, SPLIT_STREAMS[split], index]
        day, albedo = render_day_object(
            np.random.default_rng(stream + [DAY_STREAM]), size, label)
        _save(osp.join(tree, split, CLASSES[label], name), day)
        if split == 'test_day':
            night = render_night_object(
                albedo, np.random.default_rng(stream + [NIGHT_STREAM]))
            _save(osp.join(tree, 'test_night', CLASSES[label], name), night)


def _summary(root, params, generated) -> dict:
    counts = dict(
        train=params['num_train'],
        val=params['num_val'],
        test_day=params['num_test'],
        test_night=params['num_test'])
    return dict(
        root=root,
        generated=generated,
        counts=counts,
        size=tuple(params['size']),
        seed=params['seed'],
        classes=CLASSES)


def generate_synthetic_objects(root,
                               num_train: int = 2000,
                               num_val: int = 200,
                               num_test: int = 500,
                               size: Sequence[int] = (64, 64),
                               seed: int = 0,
                               overwrite: bool = False) -> dict:
    """Write the synthetic day/night object dataset under ``root``.

    Generation is skipped when ``root`` already holds a dataset made with
    the same parameters. Files are written to a temporary sibling directory
    and renamed into place, so an interrupted run leaves no partial tree.

    Args:
        root: Dataset root (CODaN layout, see the module docstring).
        num_train / num_val: Day images of ``train`` / ``val``.
        num_test: Scenes of the test splits, each rendered by day
            (``test_day``) and by night (``test_night``).
        size: ``(height, width)`` of the images.
        seed: Seed; equal seeds give byte-identical files.
        overwrite: Replace a dataset generated with other parameters.

    Returns:
        dict: ``root``, ``generated``, ``counts`` per split, ``size``,
        ``seed`` and ``classes``.
    """
    root = osp.abspath(osp.expanduser(str(root)))
    params = _params(num_train, num_val, num_test, size, seed)

    def write_tree(tree):
        for split in ('train', 'val', 'test_day'):
            count = params['num_test' if split == 'test_day' else
                           f'num_{split}']
            _write_split(tree, split, count, params)
        for split in SPLITS:  # a split of 0 images is an empty folder
            os.makedirs(osp.join(tree, split), exist_ok=True)

    generated = generate_once(root, params, MARKER_NAME, write_tree,
                              overwrite, 'synthetic objects',
                              'generate_synthetic_objects')
    return _summary(root, params, generated=generated)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic day/night object dataset.')
    parser.add_argument('root', help='dataset root to create')
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--num-test', type=int, default=500)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(64, 64),
        metavar=('HEIGHT', 'WIDTH'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite', action='store_true',
        help='replace a dataset made with other parameters')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = generate_synthetic_objects(args.root, args.num_train,
                                         args.num_val, args.num_test,
                                         args.size, args.seed, args.overwrite)
    summary['seconds'] = round(time.perf_counter() - start, 2)
    print(json.dumps(summary, indent=2))


if __name__ == '__main__':
    main()
