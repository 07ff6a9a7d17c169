"""Darkening augmentation and test-time exposure normalisation (issue 14
baselines): labels kept, dtype/range, values against independent numpy."""
import cv2
import numpy as np
import pytest

from mmsimmm.datasets.transforms import (ExposureNormalize, RandomDarken,
                                         mean_pixel_value)
from mmsimmm.registry import TRANSFORMS


def _results(seed=0, shape=(16, 24, 3), dtype=np.uint8, high=256):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, high, shape).astype(dtype)
    label = rng.integers(0, 19, shape[:2]).astype(np.uint8)
    return dict(img=img, gt_seg_map=label, img_shape=shape[:2],
                img_path='x.png')


@pytest.mark.parametrize('cfg', [
    dict(mode='brightness'),
    dict(mode='gamma', noise_std_range=(0.0, 0.05)),
])
def test_darken_keeps_labels_and_dtype_range(cfg):
    transform = TRANSFORMS.build(dict(type='mmsimmm.RandomDarken', prob=1.0,
                                      **cfg))
    results = _results()
    label = results['gt_seg_map']
    label_copy = label.copy()
    np.random.seed(0)
    out = transform(results)
    assert out['gt_seg_map'] is label
    np.testing.assert_array_equal(out['gt_seg_map'], label_copy)
    assert out['img_shape'] == (16, 24) and out['img_path'] == 'x.png'
    assert out['img'].dtype == np.uint8 and out['img'].shape == (16, 24, 3)
    assert out['darken_params']['brightness'] <= 1.0

    float_results = _results(dtype=np.float32)
    float_img = float_results['img'].copy()
    out = transform(float_results)
    assert out['img'].dtype == np.float32
    assert out['img'].min() >= 0 and out['img'].max() <= 255
    if 'noise_std_range' not in cfg:  # without noise it never brightens
        assert np.all(out['img'] <= float_img + 1e-3)
        assert out['img'].mean() < float_img.mean()


def test_darken_gamma_noise_matches_numpy():
    transform = RandomDarken(mode='gamma', prob=0.7,
                             noise_std_range=(0.0, 0.05))
    results = _results(seed=3)
    img = results['img'].copy()
    np.random.seed(11)
    out = transform(results)['img']
    # the documented draw order, recomputed in float64
    np.random.seed(11)
    assert np.random.rand() < 0.7  # seed 11 applies it
    b = np.random.uniform(0.1, 1.0)
    g = np.random.uniform(1.0, 5.0)
    sigma = np.random.uniform(0.0, 0.05)
    noise = np.random.normal(0.0, sigma, img.shape)
    expected = np.clip((img / 255.0)**g * b + noise, 0, 1) * 255
    assert np.abs(out.astype(np.float64) - expected).max() <= 0.51 + 1e-3
    assert sigma > 0 and not np.array_equal(out, np.round(
        np.clip((img / 255.0)**g * b, 0, 1) * 255))


@pytest.mark.parametrize('mode,expected_mean', [
    # x = 0.5: E[0.5 * b], b ~ U(0.1, 1)
    ('brightness', 0.5 * 0.55),
    # E[b] * E[0.5**g], g ~ U(1, 5); E[0.5**g] = (0.5**5 - 0.5) / (4 ln 0.5)
    ('gamma', 0.55 * (0.5**5 - 0.5) / (4 * np.log(0.5))),
])
def test_darken_mean_matches_closed_form(mode, expected_mean):
    transform = RandomDarken(mode=mode, prob=1.0)
    np.random.seed(0)
    means = [
        transform(dict(img=np.full((2, 2, 3), 127.5, np.float32)))
        ['img'].mean() / 255 for _ in range(4000)
    ]
    # std of one output < 0.15, so the mean of 4000 is within ~0.003
    assert abs(np.mean(means) - expected_mean) < 0.01


def test_darken_probability():
    transform = RandomDarken(prob=0.0)
    results = _results()
    img = results['img'].copy()
    out = transform(results)
    np.testing.assert_array_equal(out['img'], img)
    assert out['img'].dtype == np.uint8 and out['darken_params'] == {}

    transform = RandomDarken(prob=0.3)
    np.random.seed(1)
    applied = [
        bool(transform(_results())['darken_params']) for _ in range(2000)
    ]
    assert abs(np.mean(applied) - 0.3) < 0.04


@pytest.mark.parametrize('kwargs,key', [
    (dict(mode='night'), 'mode'),
    (dict(prob=1.5), 'prob'),
    (dict(brightness_range=(0.5, 0.1)), 'brightness_range'),
    (dict(brightness_range=(0.1, 2.0)), 'brightness_range'),
    (dict(noise_std_range=0.05), 'noise_std_range'),
])
def test_darken_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=f'RandomDarken: {key}='):
        RandomDarken(**kwargs)


def test_darken_needs_an_image():
    with pytest.raises(KeyError, match='RandomDarken.*img'):
        RandomDarken(prob=1.0)(dict(gt_seg_map=np.zeros((2, 2))))


def test_exposure_normalize_reaches_target_mean():
    transform = TRANSFORMS.build(
        dict(type='mmsimmm.ExposureNormalize', target_mean=100.0))
    results = _results(seed=2, high=40)  # a dark image, mean ~20
    label = results['gt_seg_map'].copy()
    img = results['img'].astype(np.float64)
    out = transform(results)
    assert out['img'].dtype == np.uint8
    assert abs(out['img'].mean() - 100.0) < 0.5  # rounding only
    assert out['exposure_gain'] == pytest.approx(100.0 / img.mean())
    np.testing.assert_allclose(out['img'], np.round(img * 100 / img.mean()),
                               atol=1)
    np.testing.assert_array_equal(out['gt_seg_map'], label)


def test_exposure_normalize_clips_and_keeps_day_images():
    # a dark image with a saturated lamp: clipping keeps the mean below
    img = np.full((10, 10, 3), 10, np.uint8)
    img[:2, :2] = 255
    out = ExposureNormalize(target_mean=120.0)(dict(img=img))['img']
    assert out.max() == 255 and out.mean() < 120.0
    assert out[5, 5, 0] == round(10 * 120.0 / img.mean())

    day = _results(seed=4)['img']  # mean ~127.5
    day_out = ExposureNormalize(target_mean=float(day.mean()) * 1.01)(dict(
        img=day.copy()))['img']
    assert np.abs(day_out.astype(int) - day).max() <= 3

    black = np.zeros((4, 4, 3), np.float32)
    out = ExposureNormalize(target_mean=100.0)(dict(img=black))
    assert out['exposure_gain'] == 1.0 and not out['img'].any()
    bounded = ExposureNormalize(target_mean=100.0, max_gain=2.0)
    assert bounded(dict(img=np.full((2, 2, 3), 10.0, np.float32)))[
        'img'].mean() == pytest.approx(20.0)


def test_exposure_normalize_bad_arguments():
    with pytest.raises(ValueError, match='ExposureNormalize: target_mean='):
        ExposureNormalize(target_mean=0)
    with pytest.raises(ValueError, match='ExposureNormalize: max_gain='):
        ExposureNormalize(target_mean=100, max_gain=-1)


def test_mean_pixel_value(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (4, 6, 3)).astype(np.uint8),
              rng.integers(0, 256, (8, 6, 3)).astype(np.uint8)]
    (tmp_path / 'a').mkdir()
    cv2.imwrite(str(tmp_path / 'a' / 'x.png'), images[0])
    cv2.imwrite(str(tmp_path / 'y.png'), images[1])
    expected = np.concatenate([i.ravel() for i in images]).mean()
    assert mean_pixel_value(str(tmp_path)) == pytest.approx(expected)
    with pytest.raises(FileNotFoundError, match='no \\*.jpg images under'):
        mean_pixel_value(str(tmp_path), suffix='.jpg')
