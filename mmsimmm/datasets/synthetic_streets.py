# Copyright (c) OpenMMLab. All rights reserved.
"""Procedural day/night street scenes in the Cityscapes on-disk layout.

The package needs a demo dataset that can be made offline in seconds:
day images with Cityscapes trainId labels for training, plus paired day and
night renderings of the same validation scenes for zero-shot day->night
evaluation. Night images come from a physically motivated low-light model
(exposure drop, artificial light sources, photon shot noise, read noise,
auto-exposure) so they cannot be undone by the per-pixel curves that the
adaptation model learns.

Layout written under ``root`` (readable by mmseg's ``CityscapesDataset``)::

    leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png
    gtFine/{train,val}/<city>/<name>_gtFine_labelTrainIds.png
    night/leftImg8bit/val/<city>/<name>_leftImg8bit.png
    night/gtFine/val/<city>/<name>_gtFine_labelTrainIds.png
    .synthetic_streets.json
"""
import argparse
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .synthetic_publish import check_non_negative_ints, generate_once

__all__ = [
    'generate_synthetic_streets', 'render_day_scene', 'render_night',
    'NightConditions', 'NIGHT_SHIFTS',
    'srgb_to_linear', 'linear_to_srgb', 'TrainId'
]

FORMAT_VERSION = 1
MARKER_NAME = '.synthetic_streets.json'
IMG_SUFFIX = '_leftImg8bit.png'
SEG_SUFFIX = '_gtFine_labelTrainIds.png'
TRAIN_CITIES = ('ashbury', 'brightwell', 'coldharbour')
VAL_CITIES = ('dunmore', 'eastwick')
# Separate seed streams keep train image i identical whatever num_val is.
SPLIT_STREAMS = {'train': 0, 'val': 1}
DAY_STREAM, NIGHT_STREAM = 0, 1


class TrainId:
    """Cityscapes trainIds used by the labels."""
    ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT = range(7)
    TRAFFIC_SIGN, VEGETATION, TERRAIN, SKY, PERSON, RIDER, CAR = range(7, 14)
    TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE = range(14, 19)
    VOID = 255


# Daylight in display-linear units: a white surface facing the sun reaches
# ~1.0, so albedo * irradiance never needs a separate exposure step.
SKY_AMBIENT = np.array([0.30, 0.33, 0.40], np.float32)
SUN_LIGHT = np.array([0.68, 0.64, 0.56], np.float32)

# Colours are sRGB in [0, 1] because that is how people pick them.
FACADE_COLOURS = ((0.80, 0.74, 0.62), (0.62, 0.36, 0.28), (0.72, 0.72, 0.70),
                  (0.90, 0.88, 0.82), (0.85, 0.72, 0.45), (0.55, 0.62, 0.68),
                  (0.45, 0.42, 0.40), (0.78, 0.60, 0.55))
VEHICLE_COLOURS = ((0.92, 0.92, 0.92), (0.08, 0.08, 0.09), (0.62, 0.64, 0.66),
                   (0.38, 0.39, 0.41), (0.70, 0.08, 0.07), (0.10, 0.20, 0.55),
                   (0.12, 0.30, 0.18), (0.90, 0.75, 0.10), (0.55, 0.45, 0.35))
CLOTHING_COLOURS = ((0.10, 0.10, 0.12), (0.85, 0.85, 0.85), (0.20, 0.30, 0.60),
                    (0.60, 0.10, 0.10), (0.35, 0.45, 0.25), (0.80, 0.60, 0.20),
                    (0.50, 0.50, 0.55), (0.30, 0.20, 0.15))
SKIN_TONES = ((0.95, 0.80, 0.69), (0.85, 0.65, 0.50), (0.62, 0.44, 0.32),
              (0.40, 0.27, 0.19))
PAVING_COLOURS = ((0.66, 0.64, 0.60), (0.62, 0.50, 0.46), (0.58, 0.58, 0.56))
GLASS = (0.10, 0.12, 0.16)
TAIL_LAMP, HEAD_LAMP = (0.75, 0.05, 0.04), (0.95, 0.95, 0.90)
SIGNAL_COLOURS = ((0.10, 0.95, 0.45), (1.00, 0.70, 0.05), (1.00, 0.08, 0.05))

# Where vehicle lamps sit (fraction of the box from the left / from the
# bottom); the night model finds headlights and tail lights at the same spots.
VEHICLE_LAMP_U = 0.13
VEHICLE_LAMP_V = {TrainId.CAR: 0.42, TrainId.TRUCK: 0.16, TrainId.BUS: 0.14}

# Night light spectra (linear RGB, normalised to a peak of 1).
SODIUM = np.array([1.00, 0.58, 0.22], np.float32)
WHITE_LED = np.array([1.00, 0.93, 0.82], np.float32)
MOONLIGHT = np.array([0.55, 0.68, 1.00], np.float32)
HALOGEN = np.array([1.00, 0.86, 0.66], np.float32)
TAIL_LIGHT = np.array([1.00, 0.06, 0.03], np.float32)
NIGHT_ZENITH = np.array([0.02, 0.03, 0.08], np.float32)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Invert the sRGB transfer curve; input and output in [0, 1]."""
    srgb = np.asarray(srgb, np.float32)
    return np.where(srgb <= 0.04045, srgb / 12.92,
                    ((srgb + 0.055) / 1.055)**2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Apply the sRGB transfer curve after clipping to [0, 1]."""
    linear = np.clip(np.asarray(linear, np.float32), 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92,
                    1.055 * linear**(1 / 2.4) - 0.055).astype(np.float32)


def _to_uint8(unit: np.ndarray) -> np.ndarray:
    return np.round(np.clip(unit, 0.0, 1.0) * 255).astype(np.uint8)


def _jitter(rng, srgb, amount=0.06) -> np.ndarray:
    """Linear albedo of an sRGB colour with a small random shift."""
    srgb = np.asarray(srgb, np.float32) + rng.normal(0, amount, 3)
    return srgb_to_linear(np.clip(srgb, 0.02, 0.98))


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _fbm(rng, shape, cells) -> np.ndarray:
    """Fractal value noise in [0, 1]; one octave per cell size in pixels."""
    height, width = shape
    total = np.zeros(shape, np.float32)
    weight = 0.0
    for octave, cell in enumerate(cells):
        amplitude = 0.5**octave
        grid = rng.random((height // cell + 2, width // cell + 2))
        total += amplitude * cv2.resize(
            grid.astype(np.float32), (width, height),
            interpolation=cv2.INTER_CUBIC)
        weight += amplitude
    return np.clip(total / weight, 0.0, 1.0)


def _ellipse(x, y, cx, cy, rx, ry) -> np.ndarray:
    return ((x - cx) / rx)**2 + ((y - cy) / ry)**2 < 1


def _segment_mask(x, y, start, end, half_thickness) -> np.ndarray:
    """Pixels within ``half_thickness`` of the segment ``start``-``end``."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0, 1)
    return (x - x0 - t * dx)**2 + (y - y0 - t * dy)**2 < half_thickness**2


def _overlay(albedo, mask, colour) -> np.ndarray:
    return np.where(mask[..., None], colour, albedo)


# --------------------------------------------------------------------------
# Day scene: a pinhole camera looking down a street, z-buffered primitives.
# World axes: x to the right, y up, z forward; camera at (0, height, 0).
# --------------------------------------------------------------------------
@dataclass
class _Patch:
    """Screen rectangle of a camera-facing billboard, in metric coords."""
    region: Tuple[slice, slice]
    x: np.ndarray  # (1, w) metres from the billboard's left edge
    y: np.ndarray  # (h, 1) metres above the billboard's base
    depth: float


@dataclass
class _FacadeRow:
    """Consecutive facade segments along one street side (or across it)."""
    starts: np.ndarray
    heights: np.ndarray
    labels: np.ndarray
    albedo: np.ndarray  # (n, 3) linear
    floor_height: np.ndarray
    bay_width: np.ndarray

    def index(self, coord):
        idx = np.searchsorted(self.starts, coord, side='right') - 1
        return np.clip(idx, 0, len(self.starts) - 1)


@dataclass
class _Street:
    road_center: float
    road_half: float
    sidewalk: float
    left_line: float  # x of the left building line (negative)
    right_line: float
    left_row: _FacadeRow
    right_row: _FacadeRow
    backdrop_z: Optional[float]
    backdrop_row: Optional[_FacadeRow]
    sun: np.ndarray  # unit vector towards the sun
    centre_line: bool
    crossing_z: Optional[float]


@dataclass
class _Thing:
    """An object standing on the ground, drawn as a camera-facing billboard.

    ``width``/``height`` size the billboard (for signs and traffic lights
    ``height`` is that of the post), ``length`` the ground footprint along z
    (used for its cast shadow).
    """
    kind: str
    label: int
    x: float
    z: float
    width: float
    height: float
    length: float = 0.5
    style: Dict = field(default_factory=dict)


class _Canvas:
    """Z-buffered linear-radiance image seen by a street-level camera."""

    def __init__(self, rng, size):
        self.height, self.width = size
        self.focal = self.width * rng.uniform(0.55, 0.8)
        self.cx = self.width * rng.uniform(0.4, 0.6)
        self.horizon = self.height * rng.uniform(0.36, 0.5)
        self.cam_height = rng.uniform(1.3, 1.7)
        self.yy = (np.arange(self.height, dtype=np.float32) + 0.5)[:, None]
        self.xx = (np.arange(self.width, dtype=np.float32) + 0.5)[None, :]
        self.depth = np.full(size, np.inf, np.float32)
        self.radiance = np.zeros(size + (3, ), np.float32)
        self.label = np.full(size, TrainId.VOID, np.uint8)
        self.grain = _fbm(rng, size, (12, 4, 1))
        self.blotch = _fbm(rng, size, (48, 16, 6))
        self.full = (slice(None), slice(None))

    def paint(self, region, mask, depth, radiance, label):
        """Write pixels of ``mask`` that are nearer than what is there.

        ``mask``, ``depth``, ``radiance`` and ``label`` broadcast against
        the region (radiance with a trailing RGB axis).
        """
        zbuf = self.depth[region]
        visible = np.logical_and(mask, np.less(depth, zbuf))
        np.copyto(zbuf, depth, where=visible, casting='unsafe')
        np.copyto(
            self.radiance[region],
            radiance,
            where=visible[..., None],
            casting='unsafe')
        np.copyto(self.label[region], label, where=visible, casting='unsafe')

    def texture(self, region, amplitude, source='grain'):
        noise = getattr(self, source)[region]
        return (1 + amplitude * (noise - 0.5) * 2)[..., None]

    def billboard(self, x, z, width, height, base=0.0) -> Optional[_Patch]:
        """Pixels covered by an upright rectangle at depth ``z``."""
        if z < 0.8:
            return None
        scale = self.focal / z
        left = self.cx + (x - width / 2) * scale
        right = self.cx + (x + width / 2) * scale
        top = self.horizon + (self.cam_height - base - height) * scale
        bottom = self.horizon + (self.cam_height - base) * scale
        ix0, ix1 = max(int(np.floor(left)),
                       0), min(int(np.ceil(right)), self.width)
        iy0, iy1 = max(int(np.floor(top)),
                       0), min(int(np.ceil(bottom)), self.height)
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        xs = (np.arange(ix0, ix1) + 0.5 - left) / scale
        ys = (bottom - np.arange(iy0, iy1) - 0.5) / scale
        return _Patch((slice(iy0, iy1), slice(ix0, ix1)), xs[None, :],
                      ys[:, None], z)

    def pixel_metres(self, z):
        """Size of one pixel at depth ``z``; keeps thin parts visible."""
        return z / self.focal

    def facing_irradiance(self, sun):
        """Irradiance on an upright surface facing the camera."""
        # Rounded objects always catch some sun even when it is behind them.
        direct = max(0.0, -sun[2]) * 0.7 + 0.3 * sun[1]
        return SKY_AMBIENT + SUN_LIGHT * direct


def _sample_facade_row(rng, start, stop, gap_prob) -> _FacadeRow:
    """Buildings, with the odd wall, fence or hedge between them."""
    starts, heights, labels, albedo, floors, bays = [], [], [], [], [], []
    pos = start
    while pos < stop:
        starts.append(pos)
        pos += rng.uniform(6, 24)
        if rng.random() < gap_prob:
            label = _pick(rng,
                          (TrainId.WALL, TrainId.FENCE, TrainId.VEGETATION))
            heights.append(rng.uniform(1.3, 3.2))
            colour = {
                TrainId.WALL: (0.66, 0.64, 0.60),
                TrainId.FENCE: (0.45, 0.40, 0.33),
                TrainId.VEGETATION: (0.26, 0.42, 0.18)
            }[label]
        else:
            label = TrainId.BUILDING
            heights.append(rng.uniform(7, 30))
            colour = _pick(rng, FACADE_COLOURS)
        labels.append(label)
        albedo.append(_jitter(rng, colour))
        floors.append(rng.uniform(2.8, 3.6))
        bays.append(rng.uniform(2.0, 3.5))
    return _FacadeRow(
        np.array(starts, np.float32), np.array(heights, np.float32),
        np.array(labels, np.uint8), np.stack(albedo),
        np.array(floors, np.float32), np.array(bays, np.float32))


def _sample_street(rng) -> _Street:
    road_center = rng.uniform(-2.0, 2.0)
    road_half = rng.uniform(3.5, 7.0)
    sidewalk = rng.uniform(2.0, 4.0)
    # Green verges between pavement and houses in some streets only.
    verges = rng.uniform(0, 3, 2) * (rng.random(2) < 0.4)
    kerb_to_line = road_half + sidewalk
    closed = rng.random() < 0.5
    backdrop_z = rng.uniform(60, 120) if closed else None
    far = backdrop_z if closed else 400.0
    elevation = np.deg2rad(rng.uniform(20, 65))
    azimuth = rng.uniform(0, 2 * np.pi)
    sun = np.array([
        np.cos(elevation) * np.sin(azimuth),
        np.sin(elevation),
        np.cos(elevation) * np.cos(azimuth)
    ], np.float32)
    return _Street(
        road_center=road_center,
        road_half=road_half,
        sidewalk=sidewalk,
        left_line=road_center - kerb_to_line - verges[0],
        right_line=road_center + kerb_to_line + verges[1],
        left_row=_sample_facade_row(rng, 0.0, far, 0.25),
        right_row=_sample_facade_row(rng, 0.0, far, 0.25),
        backdrop_z=backdrop_z,
        backdrop_row=_sample_facade_row(rng, -250.0, 250.0, 0.1)
        if closed else None,
        sun=sun,
        centre_line=rng.random() < 0.7,
        crossing_z=rng.uniform(8, 25) if rng.random() < 0.3 else None)


def _sample_things(rng, street: _Street):
    """Vehicles, people and street furniture placed along the street."""
    center, half = street.road_center, street.road_half
    sides = (-1.0, 1.0)
    lanes = (center - half / 2, center + half / 2, center - half + 1.1,
             center + half - 1.1)
    things = []
    for _ in range(rng.integers(1, 6)):
        things.append(
            _Thing(
                'vehicle',
                TrainId.CAR,
                x=_pick(rng, lanes) + rng.normal(0, 0.2),
                z=rng.uniform(5, 60),
                width=rng.uniform(1.7, 1.9),
                height=rng.uniform(1.4, 1.6),
                length=4.4,
                style=dict(
                    albedo=_jitter(rng, _pick(rng, VEHICLE_COLOURS)),
                    rear=rng.random() < 0.6)))
    if rng.random() < 0.35:
        things.append(
            _Thing(
                'vehicle',
                _pick(rng, (TrainId.TRUCK, TrainId.BUS)),
                x=_pick(rng, lanes[:2]),
                z=rng.uniform(10, 60),
                width=2.55,
                height=rng.uniform(3.0, 3.4),
                length=10.0,
                style=dict(
                    albedo=_jitter(rng, _pick(rng, VEHICLE_COLOURS)),
                    rear=True)))
    for _ in range(rng.integers(0, 5)):
        things.append(
            _Thing(
                'person',
                TrainId.PERSON,
                x=center + _pick(rng, sides) *
                (half + rng.uniform(0.4, street.sidewalk - 0.3)),
                z=rng.uniform(4, 35),
                width=0.6,
                height=rng.uniform(1.55, 1.9),
                style=_sample_outfit(rng)))
    if rng.random() < 0.45:
        things.append(
            _Thing(
                'two_wheeler',
                _pick(rng, (TrainId.BICYCLE, TrainId.MOTORCYCLE)),
                x=center + _pick(rng, sides) * (half - 0.9),
                z=rng.uniform(6, 35),
                width=1.8,
                height=1.0,
                length=0.6,
                style=dict(
                    albedo=_jitter(rng, _pick(rng, VEHICLE_COLOURS)),
                    flip=rng.random() < 0.5,
                    rider=_sample_outfit(rng))))
    for side in sides:
        z = rng.uniform(3, 14)
        while z < 90:
            things.append(
                _Thing(
                    'street_lamp',
                    TrainId.POLE,
                    x=center + side * (half + 0.35),
                    z=z,
                    width=0.18,
                    height=rng.uniform(7, 9),
                    style=dict(arm=-side * rng.uniform(1.2, 2.0))))
            z += rng.uniform(18, 30)
    for _ in range(rng.integers(1, 3)):
        things.append(
            _Thing(
                'sign',
                TrainId.TRAFFIC_SIGN,
                x=center + _pick(rng, sides) * (half + rng.uniform(0.3, 0.6)),
                z=rng.uniform(5, 40),
                width=0.7,
                height=rng.uniform(2.2, 2.8),
                style=dict(
                    shape=_pick(rng, ('circle', 'triangle', 'square')))))
    for _ in range(rng.integers(0, 3)):
        things.append(
            _Thing(
                'traffic_light',
                TrainId.TRAFFIC_LIGHT,
                x=center + _pick(rng, sides) * (half + 0.35),
                z=rng.uniform(8, 45),
                width=0.34,
                height=rng.uniform(3.0, 4.0),
                style=dict(state=rng.integers(len(SIGNAL_COLOURS)))))
    for _ in range(rng.integers(0, 5)):
        crown = rng.uniform(2.6, 5.6)
        trunk = rng.uniform(1.8, 3.0)
        things.append(
            _Thing(
                'tree',
                TrainId.VEGETATION,
                x=center + _pick(rng, sides) *
                (half + street.sidewalk - rng.uniform(0.5, 1.0)),
                z=rng.uniform(5, 60),
                width=crown,
                height=trunk + 0.9 * crown,
                length=crown,
                style=dict(
                    trunk=trunk, leaves=_jitter(rng, (0.25, 0.45, 0.15)))))
    return things


def _sample_outfit(rng):
    return dict(
        skin=_jitter(rng, _pick(rng, SKIN_TONES), 0.03),
        top=_jitter(rng, _pick(rng, CLOTHING_COLOURS)),
        legs=_jitter(rng,
                     _pick(rng, CLOTHING_COLOURS[:4] + CLOTHING_COLOURS[6:])),
        stride=rng.uniform(0.0, 0.12))


def _ground_shadow(street, things, ground_x, ground_z):
    """Boolean map of ground points that cannot see the sun."""
    sun = street.sun
    with np.errstate(divide='ignore', invalid='ignore'):
        shadow = np.zeros(np.broadcast(ground_x, ground_z).shape, bool)
        # March towards the sun until the ray meets a facade plane; the
        # point is shadowed if the facade there is taller than the ray.
        for row, line in ((street.left_row, street.left_line),
                          (street.right_row, street.right_line)):
            travel = (line - ground_x) / sun[0]
            hit = row.heights[row.index(ground_z + travel * sun[2])]
            shadow |= (travel > 0) & (hit > travel * sun[1])
        if street.backdrop_row is not None:
            travel = (street.backdrop_z - ground_z) / sun[2]
            row = street.backdrop_row
            hit = row.heights[row.index(ground_x + travel * sun[0])]
            shadow |= (travel > 0) & (hit > travel * sun[1])
    # Objects: sweep their footprint away from the sun, one copy per height.
    for thing in things:
        if thing.kind in ('street_lamp', 'sign', 'traffic_light'):
            continue
        # Only a tree's crown is wide enough to cast a visible shadow.
        low = thing.style['trunk'] if thing.kind == 'tree' else 0.0
        for height in np.linspace(low, thing.height, 4):
            reach = height / sun[1]
            cx = thing.x - reach * sun[0]
            cz = thing.z + thing.length / 2 - reach * sun[2]
            shadow |= _ellipse(ground_x, ground_z, cx, cz,
                               thing.width / 2 + 0.15, thing.length / 2 + 0.15)
    return shadow


def _paint_ground(canvas, rng, street, things):
    rows = slice(min(int(canvas.horizon) + 1, canvas.height), None)
    region = (rows, slice(None))
    z = canvas.focal * canvas.cam_height / (canvas.yy[rows] - canvas.horizon)
    x = (canvas.xx - canvas.cx) * z / canvas.focal
    lateral = np.abs(x - street.road_center)
    road = lateral < street.road_half
    sidewalk = ~road & (lateral < street.road_half + street.sidewalk)
    label = np.select([road, sidewalk], [TrainId.ROAD, TrainId.SIDEWALK],
                      TrainId.TERRAIN).astype(np.uint8)
    # Thin stripes fade to their average once narrower than a pixel.
    stripe_weight = np.clip(0.12 * canvas.focal / z, 0, 1)[..., None]
    asphalt = _jitter(rng, (0.36, 0.36, 0.37), 0.03)
    paving = _jitter(rng, _pick(rng, PAVING_COLOURS), 0.03)
    grass = _jitter(rng, (0.36, 0.45, 0.20), 0.04)
    paint = srgb_to_linear(np.array([0.9, 0.9, 0.88], np.float32))
    albedo = np.select([road[..., None], sidewalk[..., None]],
                       [asphalt, paving],
                       grass * canvas.texture(region, 0.4, 'grain'))
    albedo = albedo * canvas.texture(region, 0.25, 'blotch')
    marking = road & (np.abs(lateral - street.road_half + 0.35) < 0.07)
    if street.centre_line:
        marking |= (np.abs(x - street.road_center) < 0.07) & (
            (z / 9.0) % 1 < 0.4)
    if street.crossing_z is not None:
        zebra = ((x - street.road_center) / 1.2) % 1 < 0.5
        marking |= road & (np.abs(z - street.crossing_z - 2) < 2) & zebra
    albedo = np.where(marking[..., None],
                      albedo + (paint - albedo) * stripe_weight, albedo)
    kerb = sidewalk & (lateral < street.road_half + 0.2)
    albedo = np.where(kerb[..., None], albedo * 1.25, albedo)
    tile_seam = sidewalk & (z < 20) & (((x / 0.6) % 1 < 0.08) |
                                       ((z / 0.6) % 1 < 0.08))
    albedo = np.where(tile_seam[..., None], albedo * 0.8, albedo)
    lit = ~_ground_shadow(street, things, x, z)
    irradiance = SKY_AMBIENT + SUN_LIGHT * street.sun[1] * lit[..., None]
    canvas.paint(region, True, z, albedo * irradiance, label)


def _paint_facade(canvas, region, row, along, height, depth, valid, facing,
                  metres_per_pixel):
    """Shade and paint one vertical plane of facade segments."""
    # Rays that miss the plane carry inf/nan; park them on harmless values.
    along = np.where(valid, along, 0.0)
    height = np.where(valid, height, -1.0)
    idx = row.index(along)
    labels = row.labels[idx]
    hedge = labels == TrainId.VEGETATION
    top = row.heights[idx] + hedge * 0.8 * (canvas.grain[region] - 0.5)
    mask = valid & (height >= 0) & (height <= top)
    albedo = row.albedo[idx] * canvas.texture(region, 0.2, 'blotch')
    albedo = np.where(hedge[..., None], albedo * canvas.texture(region, 0.6),
                      albedo)
    building = labels == TrainId.BUILDING
    bay = (along / row.bay_width[idx]) % 1
    floor = height / row.floor_height[idx]
    in_bay = np.abs(bay - 0.5) < 0.22
    in_storey = (floor % 1 > 0.3) & (floor % 1 < 0.8)
    window = building & in_bay & in_storey & (floor > 1) & (height < top - 0.8)
    # Windows blur into the facade where a bay is only a few pixels wide.
    bay_pixels = row.bay_width[idx] / metres_per_pixel
    window_weight = np.clip((bay_pixels - 2) / 3, 0, 1)[..., None]
    albedo = np.where(
        window[..., None],
        albedo + (srgb_to_linear(GLASS) - albedo) * window_weight, albedo)
    cornice = building & (height > top - 0.35)
    slats = (labels == TrainId.FENCE) & ((along / 0.15) % 1 < 0.4)
    albedo = np.where((cornice | slats)[..., None], albedo * 0.6, albedo)
    irradiance = SKY_AMBIENT + SUN_LIGHT * max(0.0, float(facing))
    canvas.paint(region, mask, depth, albedo * irradiance, labels)


def _paint_buildings(canvas, street):
    # Each side of the street can only appear on its own half of the image.
    halves = (slice(0, int(np.ceil(canvas.cx))),
              slice(int(canvas.cx), canvas.width))
    for row, line, cols in ((street.left_row, street.left_line, halves[0]),
                            (street.right_row, street.right_line, halves[1])):
        offset = canvas.xx[:, cols] - canvas.cx
        valid = offset * line > 0
        with np.errstate(divide='ignore'):
            z = np.where(valid, canvas.focal * line / offset, np.inf)
        if street.backdrop_z is not None:
            valid = valid & (z < street.backdrop_z)
        height = canvas.cam_height - (canvas.yy - canvas.horizon) * z / \
            canvas.focal
        normal_x = 1.0 if line < 0 else -1.0
        _paint_facade(canvas, (slice(None), cols), row, z, height, z, valid,
                      normal_x * street.sun[0],
                      z * z / (canvas.focal * abs(line)))
    if street.backdrop_row is not None:
        z = street.backdrop_z
        patch = canvas.billboard(0.0, z,
                                 2 * float(-street.backdrop_row.starts[0]),
                                 float(street.backdrop_row.heights.max()))
        if patch is None:
            return
        x = patch.x + street.backdrop_row.starts[0]
        _paint_facade(canvas, patch.region, street.backdrop_row, x, patch.y, z,
                      True, -street.sun[2], z / canvas.focal)


def _paint_vehicle(canvas, thing, sun):
    patch = canvas.billboard(thing.x, thing.z, thing.width, thing.height)
    if patch is None:
        return
    u, v = patch.x / thing.width, patch.y / thing.height
    wheels = (v < 0.17) & (
        np.minimum(np.abs(u - 0.17), np.abs(u - 0.83)) < 0.09)
    body = (u > 0.02) & (u < 0.98) & (v > 0.1)
    if thing.label == TrainId.CAR:
        cabin_half = 0.36 - 0.3 * (v - 0.55)
        shape = body & ((v < 0.55) | ((v < 0.96) &
                                      (np.abs(u - 0.5) < cabin_half)))
        glass = (v > 0.6) & (v < 0.9) & (np.abs(u - 0.5) < cabin_half - 0.05)
    else:
        shape = body & (v < 0.98)
        if thing.label == TrainId.BUS:
            glass = (v > 0.5) & (v < 0.85) & (np.abs(u - 0.5) < 0.44)
        else:  # a box truck seen from behind: door seam, no glass
            glass = (np.abs(u - 0.5) < 0.012) & (v > 0.2)
    lamp_v = VEHICLE_LAMP_V[thing.label] * thing.height
    lamp_radius = 0.07 * thing.width
    lamps = np.zeros(np.broadcast(u, v).shape, bool)
    for lamp_u in (VEHICLE_LAMP_U, 1 - VEHICLE_LAMP_U):
        lamps |= _ellipse(patch.x, patch.y, lamp_u * thing.width, lamp_v,
                          lamp_radius, 0.8 * lamp_radius)
    plate = (np.abs(u - 0.5) < 0.12) & (np.abs(patch.y - lamp_v + 0.15) < 0.07)
    albedo = thing.style['albedo'] * canvas.texture(patch.region, 0.08)
    albedo = _overlay(albedo, glass, srgb_to_linear(GLASS))
    albedo = _overlay(albedo, plate, srgb_to_linear((0.9, 0.9, 0.85)))
    lamp_colour = TAIL_LAMP if thing.style['rear'] else HEAD_LAMP
    albedo = _overlay(albedo, lamps, srgb_to_linear(lamp_colour))
    albedo = _overlay(albedo, wheels, srgb_to_linear((0.06, 0.06, 0.06)))
    # Less sky reaches the lower body: cheap ambient occlusion.
    occlusion = (0.7 + 0.3 * np.clip(v, 0, 1))[..., None]
    radiance = albedo * canvas.facing_irradiance(sun) * occlusion
    canvas.paint(patch.region, shape | wheels, patch.depth, radiance,
                 thing.label)


def _paint_figure(canvas, x, z, height, base, outfit, label, sun):
    """A standing (or, with ``base`` > 0, seated) person."""
    width = 0.6
    patch = canvas.billboard(x, z, width, height, base)
    if patch is None:
        return
    px, py = patch.x - width / 2, patch.y / height
    head = _ellipse(px, py, 0.0, 0.93, 0.11, 0.065)
    torso = (py > 0.5) & (py < 0.86) & (np.abs(px) < 0.2 - 0.1 * (0.86 - py))
    stride = outfit['stride']
    legs = (py <= 0.5) & ((np.abs(px - 0.08 - stride * (0.5 - py)) < 0.07) |
                          (np.abs(px + 0.08 + stride * (0.5 - py)) < 0.07))
    albedo = np.broadcast_to(outfit['legs'], torso.shape + (3, ))
    albedo = _overlay(
        _overlay(albedo, torso, outfit['top']), head, outfit['skin'])
    albedo = albedo * canvas.texture(patch.region, 0.1)
    canvas.paint(patch.region, head | torso | legs, patch.depth,
                 albedo * canvas.facing_irradiance(sun), label)


def _paint_person(canvas, thing, sun):
    _paint_figure(canvas, thing.x, thing.z, thing.height, 0.0, thing.style,
                  thing.label, sun)


def _paint_two_wheeler(canvas, thing, sun):
    length = thing.width
    patch = canvas.billboard(thing.x, thing.z, length, thing.height)
    if patch is None:
        return
    x = np.where(thing.style['flip'], length - patch.x, patch.x)
    y = patch.y
    wheel_r = 0.33
    hubs = ((0.35, wheel_r), (length - 0.35, wheel_r))
    dist = np.minimum(
        np.hypot(x - hubs[0][0], y - wheel_r),
        np.hypot(x - hubs[1][0], y - wheel_r))
    thickness = max(0.035, 0.5 * canvas.pixel_metres(thing.z))
    if thing.label == TrainId.BICYCLE:
        tyre = (dist < wheel_r) & (dist > wheel_r - 2 * thickness)
        crank, seat = (0.85, 0.3), (0.7, 0.85)
        head, handlebar = (length - 0.55, 0.85), (length - 0.6, 1.0)
        joints = ((hubs[0], crank), (crank, seat), (seat, head), (head, crank),
                  (head, hubs[1]), (hubs[0], seat), (head, handlebar))
        frame = np.zeros(np.broadcast(x, y).shape, bool)
        for start, end in joints:
            frame |= _segment_mask(x, y, start, end, thickness)
    else:
        tyre = dist < wheel_r
        frame = _ellipse(x, y, length / 2, 0.6, length / 2 - 0.3, 0.25) | \
            _segment_mask(x, y, (length - 0.45, 0.5), (length - 0.6, 1.0),
                          thickness)
    albedo = _overlay(
        np.broadcast_to(thing.style['albedo'], frame.shape + (3, )), tyre,
        srgb_to_linear((0.05, 0.05, 0.05)))
    canvas.paint(patch.region, frame | tyre, patch.depth,
                 albedo * canvas.facing_irradiance(sun), thing.label)
    seat_x = 0.75 if not thing.style['flip'] else length - 0.75
    _paint_figure(canvas, thing.x - length / 2 + seat_x, thing.z - 0.05, 1.2,
                  0.5, thing.style['rider'], TrainId.RIDER, sun)


def _paint_post(canvas, x, z, width, height, base, albedo, label, sun):
    """An upright or horizontal bar, kept at least a pixel thick."""
    thick = canvas.pixel_metres(z)
    patch = canvas.billboard(x, z, max(width, thick), max(height, thick), base)
    if patch is not None:
        canvas.paint(patch.region, True, patch.depth,
                     albedo * canvas.facing_irradiance(sun), label)


def _paint_street_lamp(canvas, thing, sun):
    metal = srgb_to_linear((0.42, 0.43, 0.45))
    arm = thing.style['arm']
    top = thing.height
    _paint_post(canvas, thing.x, thing.z, thing.width, top, 0, metal,
                TrainId.POLE, sun)
    _paint_post(canvas, thing.x + arm / 2, thing.z, abs(arm), 0.1, top - 0.2,
                metal, TrainId.POLE, sun)
    _paint_post(canvas, thing.x + arm, thing.z, 0.55, 0.2, top - 0.35,
                metal * 0.6, TrainId.POLE, sun)


def _paint_sign(canvas, thing, sun):
    _paint_post(canvas, thing.x, thing.z, 0.08, thing.height, 0,
                srgb_to_linear((0.5, 0.5, 0.5)), TrainId.POLE, sun)
    patch = canvas.billboard(thing.x, thing.z - 0.02, thing.width, thing.width,
                             thing.height)
    if patch is None:
        return
    u = patch.x / thing.width * 2 - 1
    v = patch.y / thing.width * 2 - 1
    shape = thing.style['shape']
    if shape == 'circle':
        radius = np.hypot(u, v)
        plate, inner = radius < 1, radius < 0.72
        colours = ((0.8, 0.08, 0.08), (0.95, 0.95, 0.95))
    elif shape == 'triangle':
        plate = (v > -0.85) & (np.abs(u) < (1 - v) / 1.85)
        inner = (v > -0.62) & (np.abs(u) < (0.55 - v) / 1.85)
        colours = ((0.8, 0.08, 0.08), (0.95, 0.95, 0.95))
    else:
        plate = (np.abs(u) < 0.9) & (np.abs(v) < 0.9)
        inner = (np.abs(u) < 0.15) & (np.abs(v) < 0.6)
        colours = ((0.1, 0.25, 0.7), (0.95, 0.95, 0.95))
    albedo = _overlay(
        np.broadcast_to(srgb_to_linear(colours[0]), plate.shape + (3, )),
        inner, srgb_to_linear(colours[1]))
    canvas.paint(patch.region, plate, patch.depth,
                 albedo * canvas.facing_irradiance(sun), thing.label)


def _paint_traffic_light(canvas, thing, sun):
    _paint_post(canvas, thing.x, thing.z, 0.12, thing.height, 0,
                srgb_to_linear((0.35, 0.36, 0.35)), TrainId.POLE, sun)
    box_height = 0.95
    patch = canvas.billboard(thing.x, thing.z - 0.02, thing.width, box_height,
                             thing.height)
    if patch is None:
        return
    radiance = np.broadcast_to(
        srgb_to_linear((0.08, 0.08, 0.08)) * canvas.facing_irradiance(sun),
        np.broadcast(patch.x, patch.y).shape + (3, ))
    for index, colour in enumerate(SIGNAL_COLOURS):
        lamp = _ellipse(patch.x, patch.y, thing.width / 2, 0.2 + 0.28 * index,
                        0.1, 0.1)
        # The active lamp emits light; the others stay dim glass.
        lamp_radiance = srgb_to_linear(colour) * (
            1.0 if index == thing.style['state'] else 0.08)
        radiance = _overlay(radiance, lamp, lamp_radiance)
    canvas.paint(patch.region, True, patch.depth, radiance, thing.label)


def _paint_tree(canvas, thing, sun):
    radius = thing.width / 2
    crown_y = thing.style['trunk'] + 0.9 * radius
    patch = canvas.billboard(thing.x, thing.z, thing.width, thing.height)
    if patch is None:
        return
    noise = canvas.grain[patch.region]
    rel_x = (patch.x - radius) / radius
    rel_y = (patch.y - crown_y) / (0.9 * radius)
    crown = rel_x**2 + rel_y**2 < 0.85 + 0.6 * (noise - 0.5)
    trunk_half = max(0.14, canvas.pixel_metres(thing.z))
    trunk = (np.abs(patch.x - radius) < trunk_half) & (patch.y < crown_y)
    leaves = thing.style['leaves'] * (0.5 + 0.9 * noise[..., None])
    bark = srgb_to_linear((0.35, 0.25, 0.18))
    albedo = _overlay(leaves, trunk & ~crown, bark)
    # The top of the crown sees more sky than its underside.
    light = (0.65 + 0.35 * np.clip(rel_y, -1, 1))[..., None]
    canvas.paint(patch.region, crown | trunk, patch.depth,
                 albedo * canvas.facing_irradiance(sun) * light, thing.label)


THING_PAINTERS: Dict[str, Callable] = {
    'vehicle': _paint_vehicle,
    'person': _paint_person,
    'two_wheeler': _paint_two_wheeler,
    'street_lamp': _paint_street_lamp,
    'sign': _paint_sign,
    'traffic_light': _paint_traffic_light,
    'tree': _paint_tree,
}


def _paint_ego_hood(canvas, rng):
    """The camera car's bonnet, void in Cityscapes, in some images."""
    if rng.random() > 0.35:
        return
    rise = canvas.height * rng.uniform(0.06, 0.12)
    bend = ((canvas.xx - canvas.width / 2) / canvas.width)**2
    mask = canvas.yy > canvas.height - rise + bend * canvas.height * 0.3
    paint_colour = _jitter(rng, _pick(rng, VEHICLE_COLOURS))
    radiance = paint_colour * (SKY_AMBIENT + SUN_LIGHT * 0.5)
    canvas.paint(canvas.full, mask, 0.5, radiance, TrainId.VOID)


def _paint_sky(canvas, rng):
    up = np.clip((canvas.horizon - canvas.yy) / canvas.horizon, 0, 1)[...,
                                                                      None]
    zenith = _jitter(rng, (0.35, 0.55, 0.85), 0.04)
    haze = _jitter(rng, (0.75, 0.84, 0.93), 0.03)
    sky = haze + (zenith - haze) * up**0.7
    coverage = rng.uniform(0.0, 0.8)
    clouds = np.clip((canvas.blotch - 0.55) / 0.15, 0, 1)[..., None] * coverage
    sky = sky + (srgb_to_linear((0.93, 0.93, 0.95)) *
                 (0.8 + 0.4 * (canvas.grain[..., None] - 0.5)) - sky) * clouds
    canvas.paint(canvas.full, np.isinf(canvas.depth), 1e9, sky, TrainId.SKY)


def render_day_scene(rng: np.random.Generator,
                     size: Tuple[int, int] = (128, 256)):
    """Render one procedural daytime street scene.

    Args:
        rng: Source of all randomness for this scene.
        size: ``(height, width)`` in pixels.

    Returns:
        tuple: ``(rgb, label)``; ``rgb`` is float32 sRGB in [0, 1] with shape
        (H, W, 3) in RGB order, ``label`` uint8 Cityscapes trainIds (255 void).
    """
    size = (int(size[0]), int(size[1]))
    canvas = _Canvas(rng, size)
    street = _sample_street(rng)
    things = _sample_things(rng, street)
    _paint_ground(canvas, rng, street, things)
    _paint_buildings(canvas, street)
    for thing in things:
        THING_PAINTERS[thing.kind](canvas, thing, street.sun)
    _paint_ego_hood(canvas, rng)
    _paint_sky(canvas, rng)
    rgb = linear_to_srgb(canvas.radiance)
    # Mild daytime sensor noise so flat regions are not perfectly flat.
    rgb = rgb + rng.normal(0, 0.006, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1), canvas.label


# --------------------------------------------------------------------------
# Night: relight the day scene with artificial sources, then simulate a
# camera sensor at low light. Works from the day image and labels alone.
# --------------------------------------------------------------------------
class _NightLight:
    """Accumulates surface irradiance and emitted radiance of light sources.

    Each source only touches the window where it contributes, which keeps
    dozens of lights per image cheap.
    """

    def __init__(self, shape):
        self.irradiance = np.zeros(shape + (3, ), np.float32)
        self.emission = np.zeros(shape + (3, ), np.float32)

    def _window(self, x, y, half_width, half_height):
        """Region within the given extent of (x, y) and offsets from it."""
        height, width = self.irradiance.shape[:2]
        rows = _clipped_span(y, half_height, height)
        cols = _clipped_span(x, half_width, width)
        if rows is None or cols is None:
            return None
        dx = np.arange(cols.start, cols.stop, dtype=np.float32) + 0.5 - x
        dy = np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5 - y
        return (rows, cols), dx[None, :], dy[:, None]

    def add_source(self, x, y, colour, core_radius, core_power, reach,
                   reach_power, glow_power):
        """A lamp: bright core, inverse-square-like reach, aerosol glow."""
        glow_radius = 4 * core_radius
        limit = 6 * max(reach, glow_radius)
        window = self._window(x, y, limit, limit)
        if window is None:
            return
        region, dx, dy = window
        dist2 = dx**2 + dy**2
        core = np.clip(1.5 - np.sqrt(dist2) / core_radius, 0, 1)
        # The taper brings the long tail smoothly to zero at the window edge.
        taper = np.clip(1 - dist2 / limit**2, 0, 1)**2
        falloff = taper / (1 + dist2 / reach**2)
        # Luminaires are shielded upwards; little light goes above them.
        falloff *= 0.3 + 0.7 * (dy >= 0)
        # Scattering in air only shows close to the bulb.
        glow = 1 / (1 + dist2 / glow_radius**2)**2
        self.irradiance[region] += (reach_power * falloff)[..., None] * colour
        self.emission[region] += (core_power * core +
                                  glow_power * glow)[..., None] * colour

    def add_pool(self, x, y, rx, ry, colour, power):
        """The bright ellipse a lamp throws on the ground below it."""
        window = self._window(x, y, 3 * rx, 3 * ry)
        if window is None:
            return
        region, dx, dy = window
        pool = np.exp(-(dx / rx)**2 - (dy / ry)**2)
        self.irradiance[region] += (power * pool)[..., None] * colour


def _clipped_span(centre, half, size) -> Optional[slice]:
    start = max(int(np.floor(centre - half)), 0)
    stop = min(int(np.ceil(centre + half)), size)
    return slice(start, stop) if start < stop else None


def _components(mask, min_height=1):
    """8-connected blobs: a label map and ``(id, x, y, w, h)`` per blob."""
    count, blobs, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8)
    boxes = [(i, ) + tuple(int(v) for v in stats[i, :4])
             for i in range(1, count) if stats[i, 3] >= min_height]
    return blobs, boxes


def _light_street_lamps(light, label, colour, rng):
    """Lamp heads sit at the top of free-standing poles, at the arm's end."""
    blobs, boxes = _components(label == TrainId.POLE, min_height=5)
    for blob, x0, y0, w, h in boxes:
        above = label[max(0, y0 - 3):y0, x0:x0 + w]
        if np.isin(above, (TrainId.TRAFFIC_SIGN, TrainId.TRAFFIC_LIGHT)).any():
            continue  # a sign post, not a lamp post
        box = blobs[y0:y0 + h, x0:x0 + w] == blob
        post_x = np.argmax(box.sum(0))
        top_rows = box[:max(1, int(round(0.08 * h)))]
        cols = np.nonzero(top_rows.any(0))[0]
        head_x = cols[np.argmax(np.abs(cols - post_x))]
        lamp_colour = colour * rng.uniform(0.85, 1.15, 3).astype(np.float32)
        power = rng.uniform(0.6, 1.2)
        head = (x0 + head_x + 0.5, y0 + 1.0)
        light.add_source(
            *head,
            lamp_colour,
            core_radius=max(0.9, 0.03 * h),
            core_power=rng.uniform(5, 12) if y0 > 0 else 0.0,
            reach=0.4 * h,
            reach_power=0.25 * power,
            glow_power=0.15 * power)
        light.add_pool(head[0], y0 + h, 0.7 * h, 0.18 * h, lamp_colour,
                       2.5 * power)


def _light_vehicles(light, day_linear, label, rng):
    """Headlights or tail lights where the day image shows the lamps."""
    for vehicle in (TrainId.CAR, TrainId.TRUCK, TrainId.BUS):
        _, boxes = _components(label == vehicle, min_height=3)
        for _, x0, y0, w, h in boxes:
            if w < 4:
                continue
            lamp_y = y0 + (1 - VEHICLE_LAMP_V[vehicle]) * h
            lamps_x = (x0 + VEHICLE_LAMP_U * w, x0 + (1 - VEHICLE_LAMP_U) * w)
            sample = day_linear[min(int(lamp_y), label.shape[0] - 1),
                                min(int(lamps_x[0]), label.shape[1] - 1)]
            rear = sample[0] > 2 * sample[1] + 0.01
            if rear:
                colour = TAIL_LIGHT
                core_power, reach_power = rng.uniform(0.8, 2.5), 0.03
            else:
                colour = _pick(rng, (WHITE_LED, HALOGEN))
                core_power, reach_power = rng.uniform(3, 8), 0.15
                light.add_pool(x0 + w / 2, y0 + 1.15 * h, 0.8 * w, 0.35 * h,
                               colour, 0.5)
            for lamp_x in lamps_x:
                light.add_source(
                    lamp_x,
                    lamp_y,
                    colour,
                    core_radius=max(0.7, 0.05 * w),
                    core_power=core_power,
                    reach=0.4 * w,
                    reach_power=reach_power,
                    glow_power=0.05)


def _light_signals(light, day_linear, day_srgb, label, rng):
    """Active traffic-light lamps (saturated bright pixels) keep emitting."""
    peak, low = day_srgb.max(-1), day_srgb.min(-1)
    active = (label == TrainId.TRAFFIC_LIGHT) & (peak > 0.55) & (
        peak - low > 0.5 * peak)
    light.emission += active[..., None] * day_linear * rng.uniform(3, 8)


def _light_windows(light, day_linear, label, rng):
    """A random share of windows (dark glass in daylight) are lit inside."""
    building = (label == TrainId.BUILDING).astype(np.float32)
    luminance = day_linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    coverage = np.maximum(cv2.blur(building, (7, 7)), 1e-3)
    local = cv2.blur(luminance * building, (7, 7)) / coverage
    windows = (building > 0) & (luminance < 0.6 * local)
    count, blobs = cv2.connectedComponents(
        windows.astype(np.uint8), connectivity=4)
    share_lit = rng.uniform(0.2, 0.55)
    power = rng.uniform(0.08, 0.4, count) * (rng.random(count) < share_lit)
    power[0] = 0
    warmth = rng.random(count)[:, None]
    colours = (SODIUM * 0.4 + 0.6) * warmth + WHITE_LED * (1 - warmth)
    light.emission += (power[:, None] * colours).astype(np.float32)[blobs]


def _night_sky(label, exposure, lamp_colour):
    """Dark blue zenith fading to sodium light pollution at the horizon."""
    rows = np.nonzero((label == TrainId.SKY).any(1))[0]
    horizon = rows.max() + 1 if len(rows) else 1
    t = np.clip((np.arange(label.shape[0]) + 0.5) / horizon, 0, 1)
    t = (t**2)[:, None, None]
    return exposure * (NIGHT_ZENITH * (1 - t) + 0.25 * lamp_colour * t)


def _lens_glare(emission):
    """Spread part of the emitted light into soft halos, as lenses do."""
    return 0.85 * emission + 0.1 * cv2.GaussianBlur(
        emission, (0, 0), 2) + 0.05 * cv2.GaussianBlur(emission, (0, 0), 8)


def _vignetting(shape):
    """Light fall-off towards the image corners, (H, W, 1)."""
    rows = (np.arange(shape[0], dtype=np.float32) + 0.5) / shape[0] - 0.5
    cols = (np.arange(shape[1], dtype=np.float32) + 0.5) / shape[1] - 0.5
    return (1 - 0.5 * (rows[:, None]**2 + cols[None, :]**2))[..., None]


def _auto_exposure_gain(signal, target_srgb_mean):
    """Bisect the gain so the metered image reaches the target brightness."""
    metered = signal[::3, ::3]  # metering sees a coarse grid
    low, high = np.log(1 / 256), np.log(1024.0)
    for _ in range(16):
        mid = (low + high) / 2
        if linear_to_srgb(metered * np.exp(mid)).mean() < target_srgb_mean:
            low = mid
        else:
            high = mid
    return float(np.exp((low + high) / 2))


@dataclass(frozen=True)
class NightConditions:
    """The ranges the night renderer samples from (defaults: the night of
    the demo and the night table). Other values render held-out kinds of
    night from the same day scenes (see ``NIGHT_SHIFTS``).

    Args:
        exposure_range: ambient light level (linear, relative to daylight).
        electrons_range: sensor electrons per unit radiance (lower: a
            smaller pixel or higher gain, more shot noise).
        read_noise_range: read noise in electrons.
        target_brightness_range: the auto-exposure's target mean (sRGB).
        artificial_light: street lamps, vehicle lamps, signals and lit
            windows; False renders an unlit, moonlit road.
    """
    exposure_range: Tuple[float, float] = (0.02, 0.08)
    electrons_range: Tuple[float, float] = (2500, 8000)
    read_noise_range: Tuple[float, float] = (1.5, 4.0)
    target_brightness_range: Tuple[float, float] = (0.06, 0.11)
    artificial_light: bool = True


# Held-out kinds of night (benchmarks/night_shift.py): each changes one
# assumption of the default night, chosen before any model was tested on it.
NIGHT_SHIFTS = {
    'underexposed': NightConditions(target_brightness_range=(0.03, 0.06)),
    'high_gain_noise': NightConditions(electrons_range=(600, 2000),
                                       read_noise_range=(4.0, 8.0)),
    'unlit_road': NightConditions(exposure_range=(0.01, 0.04),
                                  artificial_light=False),
}


def _simulate_sensor(radiance, rng, conditions=NightConditions()):
    """Photon shot noise, read and row noise, auto-exposure, 8-bit sRGB."""
    electrons_per_unit = rng.uniform(*conditions.electrons_range)
    read_noise = rng.uniform(*conditions.read_noise_range)
    photons = rng.poisson(np.clip(radiance, 0, 50) * electrons_per_unit)
    electrons = photons + rng.normal(0, read_noise, radiance.shape) + \
        rng.normal(0, 0.4 * read_noise, (radiance.shape[0], 1, 1))
    signal = (electrons / electrons_per_unit).astype(np.float32)
    gain = _auto_exposure_gain(
        signal, rng.uniform(*conditions.target_brightness_range))
    return _to_uint8(linear_to_srgb(signal * gain))


def render_night(day_srgb_uint8: np.ndarray,
                 label: np.ndarray,
                 rng: np.random.Generator,
                 conditions: NightConditions = NightConditions()
                 ) -> np.ndarray:
    """Render the night-time version of a day scene.

    The day image stands in for surface albedo. Daylight is replaced by a
    dim warm ambient level plus street lamps, vehicle lamps, lit windows and
    signals found from the labels; a noisy sensor with auto-exposure then
    records the scene. Light pools, glow and noise make the result depend on
    position, so no per-pixel tone curve maps the day image onto it.

    Args:
        day_srgb_uint8: (H, W, 3) uint8 RGB day image.
        label: (H, W) uint8 trainIds of the scene.
        rng: Source of all randomness of the night version.
        conditions: The ranges sampled from (default: the demo's night).

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB night image.
    """
    day_srgb = np.asarray(day_srgb_uint8, np.float32) / 255
    label = np.asarray(label)
    if day_srgb.ndim != 3 or day_srgb.shape[:2] != label.shape:
        raise ValueError(f'image {day_srgb.shape} and label {label.shape} '
                         'do not match')
    albedo = srgb_to_linear(day_srgb)
    exposure = rng.uniform(*conditions.exposure_range)
    # Streets mix old sodium lamps and white LEDs.
    sodium_share = rng.random()
    lamp_colour = SODIUM * sodium_share + WHITE_LED * (1 - sodium_share)
    light = _NightLight(label.shape)
    light.irradiance += exposure * (0.8 * lamp_colour + 0.2 * MOONLIGHT)
    if conditions.artificial_light:
        _light_street_lamps(light, label, lamp_colour, rng)
        _light_vehicles(light, albedo, label, rng)
        _light_signals(light, albedo, day_srgb, label, rng)
        _light_windows(light, albedo, label, rng)
    radiance = albedo * light.irradiance
    sky = label == TrainId.SKY
    radiance[sky] = np.broadcast_to(
        _night_sky(label, exposure, lamp_colour), radiance.shape)[sky]
    radiance += _lens_glare(light.emission)
    radiance *= _vignetting(label.shape)
    return _simulate_sensor(radiance, rng, conditions)


# --------------------------------------------------------------------------
# Dataset on disk.
# --------------------------------------------------------------------------
def _params(num_train, num_val, size, seed) -> dict:
    if len(size) != 2 or min(int(size[0]), int(size[1])) < 32:
        raise ValueError(f'size must be (height, width) >= 32, got {size}')
    check_non_negative_ints(num_train=num_train, num_val=num_val, seed=seed)
    return dict(
        version=FORMAT_VERSION,
        num_train=int(num_train),
        num_val=int(num_val),
        size=[int(size[0]), int(size[1])],
        seed=int(seed))


def _data_prefixes() -> dict:
    """``data_prefix`` dicts for mmseg's CityscapesDataset, per split."""
    return dict(
        train=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        val=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        night_val=dict(
            img_path='night/leftImg8bit/val', seg_map_path='night/gtFine/val'))


def _summary(root, params, generated) -> dict:
    return dict(
        root=root,
        generated=generated,
        num_train=params['num_train'],
        num_val=params['num_val'],
        num_night_val=params['num_val'],
        size=tuple(params['size']),
        seed=params['seed'],
        img_suffix=IMG_SUFFIX,
        seg_map_suffix=SEG_SUFFIX,
        data_prefix=_data_prefixes())


def _write_png(path, image):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if image.ndim == 3:
        image = np.ascontiguousarray(image[..., ::-1])  # cv2 stores BGR
    if not cv2.imwrite(path, image):
        raise OSError(f'failed to write {path}')


def _write_split(tree, split, count, params):
    prefixes = _data_prefixes()
    cities = TRAIN_CITIES if split == 'train' else VAL_CITIES
    seed, size = params['seed'], tuple(params['size'])
    for index in range(count):
        city = cities[index % len(cities)]
        name = f'{city}_{index // len(cities):06d}_000019'
        stream = [seed, SPLIT_STREAMS[split], index]
        day, label = render_day_scene(
            np.random.default_rng(stream + [DAY_STREAM]), size)
        day = _to_uint8(day)
        outputs = [(prefixes[split], day)]
        if split == 'val':
            night = render_night(
                day, label, np.random.default_rng(stream + [NIGHT_STREAM]))
            outputs.append((prefixes['night_val'], night))
        for prefix, image in outputs:
            _write_png(
                osp.join(tree, prefix['img_path'], city, name + IMG_SUFFIX),
                image)
            _write_png(
                osp.join(tree, prefix['seg_map_path'], city,
                         name + SEG_SUFFIX), label)


def generate_synthetic_streets(root,
                               num_train: int = 300,
                               num_val: int = 40,
                               size: Sequence[int] = (128, 256),
                               seed: int = 0,
                               overwrite: bool = False) -> dict:
    """Write the synthetic day/night street dataset under ``root``.

    Generation is skipped when ``root`` already holds a dataset made with
    the same parameters. Files are built in a temporary sibling directory
    and renamed into place, so an interrupted run leaves no partial tree.

    Args:
        root: Dataset root (Cityscapes layout, see module docstring).
        num_train: Number of day training images.
        num_val: Number of validation scenes, each rendered day and night.
        size: ``(height, width)`` of the images.
        seed: Seed; equal seeds give byte-identical files.
        overwrite: Replace a dataset generated with other parameters.

    Returns:
        dict: ``root``, ``generated``, counts, ``size``, ``seed``, the file
        suffixes and mmseg ``data_prefix`` dicts for ``train``, ``val`` and
        ``night_val``.
    """
    root = osp.abspath(osp.expanduser(str(root)))
    params = _params(num_train, num_val, size, seed)

    def write_tree(tree):
        _write_split(tree, 'train', params['num_train'], params)
        _write_split(tree, 'val', params['num_val'], params)

    generated = generate_once(root, params, MARKER_NAME, write_tree,
                              overwrite, 'synthetic streets',
                              'generate_synthetic_streets')
    return _summary(root, params, generated=generated)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic day/night street dataset.')
    parser.add_argument('root', help='dataset root to create')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=40)
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(128, 256),
        metavar=('HEIGHT', 'WIDTH'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace a dataset made with other parameters')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = generate_synthetic_streets(args.root, args.num_train,
                                         args.num_val, args.size, args.seed,
                                         args.overwrite)
    summary['seconds'] = round(time.perf_counter() - start, 2)
    print(json.dumps(summary, indent=2))


if __name__ == '__main__':
    main()
