"""The embedded video demo: procedural day/night clips written as mp4 files
mmaction2 decodes (deterministic, balanced, the class in the motion, night
clips consistently lit over time), and `tools/demo.py --task video` end to
end at toy size (data, baseline, SMM, table, results.json, picture grid)."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from mmsimmm.datasets.synthetic_clips import (CLASSES,
                                              generate_synthetic_clips,
                                              render_day_clip,
                                              render_night_clip, write_mp4)

decord = pytest.importorskip('decord')
pytest.importorskip('mmaction')
# the Runners' MessageHub / DefaultScope do not outlive this module
from test_action_train_test import runner_globals_restored  # noqa: E402,F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))


def read(path):
    return decord.VideoReader(str(path)).get_batch(
        list(range(8))).asnumpy().astype(np.float32)


def test_clips_layout_determinism_and_pairing(tmp_path):
    first = generate_synthetic_clips(tmp_path / 'a', num_train=12,
                                     num_test=6, seed=3)
    assert first['generated']
    again = generate_synthetic_clips(tmp_path / 'a', num_train=12,
                                     num_test=6, seed=3)
    assert not again['generated']  # same parameters: kept
    generate_synthetic_clips(tmp_path / 'b', num_train=12, num_test=6,
                             seed=3)
    lines = (tmp_path / 'a' / 'day' / 'train.txt').read_text().split('\n')
    labels = [int(line.split()[1]) for line in lines if line]
    assert labels.count(0) == labels.count(5) == 2  # balanced
    test = (tmp_path / 'a' / 'day' / 'test.txt').read_text()
    assert (tmp_path / 'a' / 'night' / 'test.txt').read_text() == test
    name = test.split()[0]
    for part in ('day', 'night'):
        a = (tmp_path / 'a' / part / 'videos' / name).read_bytes()
        assert a == (tmp_path / 'b' / part / 'videos' / name).read_bytes()
    day = read(tmp_path / 'a' / 'day' / 'videos' / name)
    night = read(tmp_path / 'a' / 'night' / 'videos' / name)
    assert day.shape == night.shape == (8, 64, 64, 3)
    assert night.mean() < 0.5 * day.mean()
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthetic_clips(tmp_path / 'a', num_train=10, num_test=6)


def test_the_class_is_the_motion():
    """'right' moves the object's mass to the right, 'approach' grows it
    (object pixels differ from the static background over time)."""
    def moving_pixels(label):
        clip, _ = render_day_clip(np.random.default_rng(1), (64, 64), label)
        clip = clip.astype(np.float32).mean(-1)
        background = np.median(clip, axis=0)
        return [np.abs(frame - background) > 12 for frame in clip]

    right = moving_pixels(CLASSES.index('right'))
    cols = [np.nonzero(mask)[1].mean() for mask in right]
    assert cols[-1] - cols[0] > 10
    approach = moving_pixels(CLASSES.index('approach'))
    assert approach[-1].sum() > 1.5 * approach[0].sum()
    with pytest.raises(ValueError, match='label must be in'):
        render_day_clip(np.random.default_rng(0), (64, 64), len(CLASSES))


def test_night_clip_is_lit_consistently_with_fresh_noise():
    clip, albedo = render_day_clip(np.random.default_rng(2), (64, 64),
                                   CLASSES.index('up'))
    night = render_night_clip(albedo, np.random.default_rng(3)).astype(
        np.float32)
    means = night.mean((1, 2, 3))
    # one lighting set-up and a locked exposure: no flicker between frames
    assert means.std() < 0.05 * means.mean()
    # but the sensor noise differs frame to frame
    assert not np.array_equal(night[0], night[1])
    with pytest.raises(ValueError, match=r'\(T, H, W, 3\)'):
        render_night_clip(albedo[0], np.random.default_rng(0))


def test_write_mp4_refuses_widths_decord_misreads(tmp_path):
    with pytest.raises(ValueError, match='multiple of 32, got 48'):
        write_mp4(str(tmp_path / 'x.mp4'), np.zeros((2, 32, 48, 3),
                                                    np.uint8))


def test_video_demo_runs_end_to_end(tmp_path, capsys, monkeypatch):
    import demo
    work_dir = tmp_path / 'demo_video'
    monkeypatch.setattr(sys, 'argv', [
        'demo.py', '--task', 'video', '--work-dir', str(work_dir),
        '--num-train', '12', '--num-test', '6', '--pretrain-iters', '2',
        '--darken-iters', '1', '--adapt-iters', '2'
    ])
    demo.main()
    out = capsys.readouterr().out
    assert '| day-only baseline |' in out and '| SMM (ours) |' in out
    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    assert results['iterations'] == dict(pretrain=2, darken=1, adapt=2)
    for metrics in results['results'].values():
        assert set(metrics) == {'day/acc/top1', 'night/acc/top1'}
        assert all(0 <= v <= 100 for v in metrics.values())
    assert osp.isfile(work_dir / 'baseline' / 'iter_2.pth')
    grid = cv2.imread(str(work_dir / 'demo_grid.png'))
    # 6 test clips x 96 px + header; 3 frames each of day, D(day), night,
    # and the text panel
    assert grid.shape == (24 + 6 * 96, 11 * 96, 3)
