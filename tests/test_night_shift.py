"""Held-out kinds of night: NightConditions changes only what it names, and
benchmarks/night_shift.py evaluates the table's checkpoints on them."""
import json

import numpy as np
import pytest

from mmsimmm.datasets.synthetic_streets import (NIGHT_SHIFTS,
                                                NightConditions,
                                                render_day_scene,
                                                render_night)
from test_benchmark_scripts import load_script


def _scene():
    day, label = render_day_scene(np.random.default_rng(11), (96, 192))
    return np.round(day * 255).astype(np.uint8), label


def _high_frequency(image):
    grey = image.astype(np.float64).mean(-1)
    return np.abs(np.diff(grey, axis=1)).mean()


def test_default_conditions_render_the_table_night():
    day, label = _scene()
    np.testing.assert_array_equal(
        render_night(day, label, np.random.default_rng(4)),
        render_night(day, label, np.random.default_rng(4), NightConditions()))


def test_each_shift_changes_what_it_names():
    day, label = _scene()

    def mean_over_seeds(conditions, measure):
        return np.mean([
            measure(render_night(day, label, np.random.default_rng(s),
                                 conditions)) for s in range(4)])

    default = NightConditions()
    brightness = lambda image: image.mean()  # noqa: E731
    # an under-exposing camera: darker images
    assert mean_over_seeds(NIGHT_SHIFTS['underexposed'], brightness) < \
        0.75 * mean_over_seeds(default, brightness)
    # fewer electrons, more read noise: more pixel-to-pixel variation
    assert mean_over_seeds(NIGHT_SHIFTS['high_gain_noise'],
                           _high_frequency) > \
        1.3 * mean_over_seeds(default, _high_frequency)
    # no lamps: no saturated lamp cores, which the default night has
    saturated = lambda image: (image.max(-1) >= 250).mean()  # noqa: E731
    assert mean_over_seeds(default, saturated) > 0
    assert mean_over_seeds(NIGHT_SHIFTS['unlit_road'], saturated) < \
        0.1 * mean_over_seeds(default, saturated)


def test_night_shift_evaluates_the_table_checkpoints(tmp_path):
    table = load_script('night_table')
    shift = load_script('night_shift')
    work = str(tmp_path / 'work')
    table.main(['--tasks', 'seg', '--rows', 'erm_control', 'exposure_norm',
                'adabn', '--seeds', '0', '--iters', '2', '2', '1',
                '--num-train', '4', '--num-val', '2', '--work-dir', work,
                '--out', str(tmp_path / 'table.md')])
    out = tmp_path / 'shift.md'
    shift.main(['--seeds', '0', '--work-dir', work, '--out', str(out)])
    text = out.read_text()
    seed_dir = tmp_path / 'work' / 'seg' / 'seed0'
    header = next(l for l in text.splitlines() if l.startswith('| row'))
    assert header.split('|')[2:-2] == [
        f' {c} ' for c in ['night', *sorted(NIGHT_SHIFTS)]]
    for name in NIGHT_SHIFTS:
        images = list((seed_dir / 'data' / 'night_shift' / name).rglob(
            '*_leftImg8bit.png'))
        assert len(images) == 2
    # the table's own night column is the table's number (same checkpoint)
    control = json.loads((seed_dir / 'erm_control' / 'result.json')
                         .read_text())
    line = next(l for l in text.splitlines() if '(control)' in l)
    assert line.split('|')[2].strip() == f"{control['night']:.1f}"
    assert 'test-time exposure normalisation' in text
    assert 'AdaBN' not in text  # its statistics come from the table's night
    # a rerun renders nothing again
    marker = next((seed_dir / 'data' / 'night_shift').rglob(
        '.night_shift.json'))
    stamp = marker.stat().st_mtime_ns
    shift.main(['--seeds', '0', '--rows', 'erm_control', '--work-dir', work,
                '--out', str(out)])
    assert marker.stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit, match="unknown row 'adabn'"):
        shift.main(['--seeds', '0', '--rows', 'adabn', '--work-dir', work])
    with pytest.raises(SystemExit, match='no day test images'):
        shift.main(['--seeds', '5', '--work-dir', work])
