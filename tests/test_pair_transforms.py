"""Two-view pipeline transforms: what the views share (geometry, cutout) and
what they draw on their own (blur strength, colour jitter), packing, and the
reference's evaluation resize."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmsimmm.registry import TRANSFORMS


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return TRANSFORMS.build(cfg)


def sample(h=32, w=64, seed=0, views=None):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    label = rng.integers(0, 19, (h, w), dtype=np.uint8)
    results = dict(img=img, gt_seg_map=label, seg_fields=['gt_seg_map'],
                   img_shape=(h, w), ori_shape=(h, w))
    if views:
        results['img'] = [img.copy() for _ in range(views)]
    return results


def test_registered_and_built_lazily_by_name():
    for name in ('PairedPhotometricViews', 'PackViews', 'RandomCenterZoom',
                 'PerViewGaussianBlur', 'PairedCutout', 'PerViewColorJitter',
                 'ResizeForEvaluation'):
        assert TRANSFORMS.get(f'mmsimmm.{name}') is not None, name


# ---------------------------------------------------------------- geometry
def test_center_zoom_matches_the_affine_map_on_a_ramp():
    np.random.seed(0)
    h, w = 20, 40
    ramp = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    img = np.repeat(ramp[..., None], 3, axis=2)
    zoom = build(dict(type='mmsimmm.RandomCenterZoom', ratio_range=(2, 2)))
    out = zoom(dict(img=[img, img.copy()], seg_fields=[]))
    cx = (w - 1) / 2
    # bilinear interpolation of a linear ramp is exact: x_src = (x - c)/s + c
    expected = (np.arange(w) - cx) / 2 + cx
    for view in out['img']:
        np.testing.assert_allclose(view[h // 2, :, 0], expected, atol=1e-3)
    assert out['zoom_ratio'] == 2


def test_center_zoom_out_borders_are_filled_and_ignored():
    np.random.seed(0)
    results = sample(h=40, w=80)
    results['img'][:] = 200
    zoom = build(dict(type='mmsimmm.RandomCenterZoom', ratio_range=(0.5, 0.5),
                      interpolation='nearest'))
    out = zoom(results)
    inside = out['img'][:, :, 0] == 200
    # the shrunken image covers a quarter of the canvas, centred
    assert inside.mean() == pytest.approx(0.25, abs=0.03)
    assert inside[20, 40] and not inside[0, 0] and not inside[39, 79]
    label = out['gt_seg_map']
    assert (label[~inside] == 255).all()
    # nearest for labels: no new values appear
    assert set(np.unique(label[inside])) <= set(np.unique(
        sample(h=40, w=80)['gt_seg_map']))


def test_center_zoom_rejects_bad_arguments():
    with pytest.raises(ValueError, match='ratio_range'):
        build(dict(type='mmsimmm.RandomCenterZoom', ratio_range=(1.3, 0.7)))
    with pytest.raises(ValueError, match="interpolation 'cubicc'"):
        build(dict(type='mmsimmm.RandomCenterZoom', interpolation='cubicc'))


# ------------------------------------------------------------------- views
def test_views_share_geometry_and_draw_photometry_independently():
    np.random.seed(1)
    views = build(dict(
        type='mmsimmm.PairedPhotometricViews', num_views=2,
        transforms=[dict(type='PhotoMetricDistortion')]))
    results = sample()
    label = results['gt_seg_map'].copy()
    out = views(results)
    a, b = out['img']
    assert a.shape == b.shape == (32, 64, 3)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(out['gt_seg_map'], label)


def test_views_refuse_views_and_size_changing_transforms():
    views = build(dict(type='mmsimmm.PairedPhotometricViews'))
    with pytest.raises(TypeError, match='views already made'):
        views(sample(views=2))
    resizing = build(dict(
        type='mmsimmm.PairedPhotometricViews',
        transforms=[dict(type='RandomResize', scale=(64, 32),
                         ratio_range=(0.5, 2.0), keep_ratio=True)]))
    np.random.seed(3)
    with pytest.raises(ValueError, match='changed the image size'):
        for _ in range(10):
            resizing(sample())
    with pytest.raises(ValueError, match='num_views must be >= 2'):
        build(dict(type='mmsimmm.PairedPhotometricViews', num_views=1))


def _impulse_sigma(img, centre):
    """Standard deviation of a blurred impulse along x."""
    row = img[centre[0], :, 0].astype(np.float64)
    xs = np.arange(row.size) - centre[1]
    return np.sqrt((row * xs**2).sum() / row.sum())


def test_blur_one_decision_for_all_views_sigma_per_view():
    blur = build(dict(type='mmsimmm.PerViewGaussianBlur', prob=0.5,
                      sigma_range=(0.5, 3.0)))
    np.random.seed(0)
    impulse = np.zeros((41, 41, 3), np.float32)
    impulse[20, 20] = 1000.0
    blurred_count = 0
    for _ in range(40):
        out = blur(dict(img=[impulse.copy(), impulse.copy()]))
        changed = [not np.array_equal(v, impulse) for v in out['img']]
        assert changed[0] == changed[1]  # shared decision
        if changed[0]:
            blurred_count += 1
            sigmas = out.pop('blur_sigmas')
            for view, sigma in zip(out['img'], sigmas):
                assert 0.5 <= sigma <= 3.0
                assert _impulse_sigma(view, (20, 20)) == pytest.approx(
                    sigma, rel=0.1)
            assert sigmas[0] != sigmas[1]
    assert 10 <= blurred_count <= 30


def test_cutout_same_region_and_fill_in_all_views_labels_ignored():
    np.random.seed(2)
    cutout = build(dict(type='mmsimmm.PairedCutout', prob=1.0))
    results = sample(h=40, w=80)
    a = results['img']
    b = 255 - a
    label = results['gt_seg_map'].copy()
    results['img'] = [a, b]
    out = cutout(results)
    top, left, eh, ew = out['cutout_region']
    region = np.zeros((40, 80), bool)
    region[top:top + eh, left:left + ew] = True
    assert 0.02 * 0.5 <= region.mean() <= 0.4
    va, vb = out['img']
    np.testing.assert_array_equal(va[region], vb[region])
    np.testing.assert_array_equal(va[~region], a[~region])
    np.testing.assert_array_equal(vb[~region], b[~region])
    assert (out['gt_seg_map'][region] == 255).all()
    np.testing.assert_array_equal(out['gt_seg_map'][~region], label[~region])
    # the inputs are not written into
    assert not np.array_equal(a[region], va[region])


def test_cutout_probability_zero_is_identity():
    cutout = build(dict(type='mmsimmm.PairedCutout', prob=0.0))
    results = sample(views=2)
    before = [v.copy() for v in results['img']]
    out = cutout(results)
    for v, b in zip(out['img'], before):
        np.testing.assert_array_equal(v, b)


def test_color_jitter_fresh_factors_per_view_and_brightness_values():
    np.random.seed(4)
    jitter = build(dict(type='mmsimmm.PerViewColorJitter', brightness=0.3,
                        contrast=0, saturation=0, hue=0))
    results = sample(views=2)
    img = results['img'][0].copy()
    out = jitter(results)
    factors = out['jitter_factors']
    assert factors[0] != factors[1]
    for view, (b, c, s, h) in zip(out['img'], factors):
        assert 0.7 <= b <= 1.3 and (c, s, h) == (1, 1, 0)
        expected = np.clip(img.astype(np.float64) * b, 0, 255)
        assert np.abs(view - expected).max() <= 1.0


def test_color_jitter_hue_respects_the_channel_order():
    jitter = build(dict(type='mmsimmm.PerViewColorJitter'))
    red_bgr = np.zeros((2, 2, 3), np.uint8)
    red_bgr[..., 2] = 255
    # hue + 1/3 turns red into green, whatever the channel order
    green_bgr = jitter.jitter(red_bgr, (1.0, 1.0, 1.0, 1 / 3))
    np.testing.assert_array_equal(green_bgr[0, 0], [0, 255, 0])
    rgb = build(dict(type='mmsimmm.PerViewColorJitter', channel_order='rgb'))
    blue_bgr = jitter.jitter(red_bgr, (1.0, 1.0, 1.0, -1 / 3))
    np.testing.assert_array_equal(blue_bgr[0, 0], [255, 0, 0])
    red_rgb = red_bgr[..., ::-1].copy()
    np.testing.assert_array_equal(
        rgb.jitter(red_rgb, (1.0, 1.0, 1.0, 1 / 3))[0, 0], [0, 255, 0])
    with pytest.raises(TypeError, match='HxWx3 uint8'):
        jitter.jitter(red_bgr.astype(np.float32), (1, 1, 1, 0))
    with pytest.raises(ValueError, match='hue must be in'):
        build(dict(type='mmsimmm.PerViewColorJitter', hue=0.6))


# ----------------------------------------------------------------- packing
def test_pack_views_gives_a_list_of_view_tensors_and_shared_labels():
    pack = build(dict(type='mmsimmm.PackViews'))
    results = sample(views=2)
    results['img'][1] = 255 - results['img'][1]
    out = pack(dict(results, img=list(results['img'])))
    inputs = out['inputs']
    assert isinstance(inputs, list) and len(inputs) == 2
    for tensor, view in zip(inputs, results['img']):
        np.testing.assert_array_equal(tensor.permute(1, 2, 0).numpy(), view)
    np.testing.assert_array_equal(
        out['data_samples'].gt_sem_seg.data[0].numpy(), results['gt_seg_map'])
    single = pack(sample())
    assert isinstance(single['inputs'], torch.Tensor)


def test_collated_views_split_into_preprocessable_batches():
    """The whole stage-2 pipeline -> pseudo_collate -> the adapter's view
    split -> mmseg's preprocessor, once per view."""
    from mmseg.models import SegDataPreProcessor

    from mmsimmm.models.task_adapters import MMSegTaskAdapter
    from mmcv.transforms import Compose
    np.random.seed(5)
    pipeline = Compose([
        build(c) for c in (
            dict(type='mmsimmm.RandomCenterZoom'),
            dict(type='RandomCrop', crop_size=(24, 48)),
            dict(type='RandomFlip', prob=0.5),
            dict(type='mmsimmm.PairedPhotometricViews'),
            dict(type='mmsimmm.PerViewGaussianBlur'),
            dict(type='mmsimmm.PairedCutout'),
            dict(type='mmsimmm.PerViewColorJitter'),
            dict(type='mmsimmm.PackViews'),
        )
    ])
    batch = pseudo_collate([pipeline(sample(seed=s)) for s in range(3)])
    adapter = MMSegTaskAdapter()
    views = adapter.split_view_batch(batch)
    assert len(views) == 2
    preprocessor = SegDataPreProcessor(
        mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=True, size=(24, 48))
    out = [preprocessor(v, True) for v in views]
    for o, view in zip(out, views):
        assert o['inputs'].shape == (3, 3, 24, 48)
        expected = torch.stack(view['inputs']).float().flip(1)  # BGR->RGB
        torch.testing.assert_close(o['inputs'], expected)
    assert not torch.equal(out[0]['inputs'], out[1]['inputs'])
    # an ordinary batch is not split
    plain = pseudo_collate([build(dict(type='PackSegInputs'))(sample())])
    assert adapter.split_view_batch(plain) is None
    assert adapter.split_view_batch(
        dict(inputs=torch.zeros(2, 3, 4, 4))) is None
    stacked = adapter.split_view_batch(
        dict(inputs=[torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)],
             data_samples=None))
    assert [v['inputs'].mean().item() for v in stacked] == [0, 1]
    with pytest.raises(TypeError, match='expected samples'):
        adapter.split_view_batch(dict(inputs=[torch.zeros(4, 4)]))


# -------------------------------------------------------------- evaluation
def test_resize_for_evaluation_scores_at_the_given_scale():
    resize = build(dict(type='mmsimmm.ResizeForEvaluation', scale=(64, 32)))
    results = sample(h=54, w=96)
    source_labels = set(np.unique(results['gt_seg_map']))
    out = resize(results)
    assert out['img'].shape == (32, 64, 3)
    assert out['gt_seg_map'].shape == (32, 64)
    assert out['ori_shape'] == out['img_shape'] == (32, 64)
    assert set(np.unique(out['gt_seg_map'])) <= source_labels
    # nearest neighbour: each label is the source label at the mapped pixel
    expected = cv2.resize(sample(h=54, w=96)['gt_seg_map'], (64, 32),
                          interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    with pytest.raises(ValueError, match='scale must be'):
        build(dict(type='mmsimmm.ResizeForEvaluation', scale=(0, 32)))


def test_mmseg_predicts_at_the_evaluation_scale():
    """mmseg resizes its prediction to ``ori_shape``: with this transform
    the prediction and the label are both 32x64."""
    from mmseg.registry import MODELS as MMSEG_MODELS
    from mmcv.transforms import Compose

    from conftest import tiny_seg_model_cfg
    pipeline = Compose([
        build(dict(type='mmsimmm.ResizeForEvaluation', scale=(64, 32))),
        build(dict(type='PackSegInputs'))
    ])
    batch = pseudo_collate([pipeline(sample(h=54, w=96))])
    cfg = tiny_seg_model_cfg()
    cfg.data_preprocessor.pop('size')
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(cfg)
    model.eval()
    with torch.no_grad():
        pred = model.test_step(batch)[0]
    assert pred.pred_sem_seg.data.shape == (1, 32, 64)
    assert pred.gt_sem_seg.data.shape == (1, 32, 64)
