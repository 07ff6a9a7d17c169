"""SimMinMax on mmaction2 recognizers through MMActionTaskAdapter: clips
flattened to frames for D and restored in the preprocessor's layout (NCTHW
with clips, NCHW with segments), per-frame E in stage 1, one E' map per clip
in stage 2, pooled clip features for both similarity terms, and which parts
move in which phase (I3D-style Recognizer3D and TSN Recognizer2D)."""
import pytest
import torch
from mmengine.config import ConfigDict

from mmsimmm.models.task_adapters import MMActionTaskAdapter
from mmsimmm.models.task_adapters.selection import default_task_adapter
from mmsimmm.registry import MODELS
from conftest import MEAN, STD
from test_sim_min_max import build_optim, changed, snapshot

pytest.importorskip('mmaction')

NUM_CLASSES = 3


def tiny_i3d(num_classes=NUM_CLASSES, to_rgb=False):
    """A Recognizer3D as mmaction2's i3d_r50 config builds it, at toy size:
    ResNet3d-18 with 8 base channels (64 at the last stage)."""
    return dict(
        _scope_='mmaction',
        type='Recognizer3D',
        backbone=dict(type='ResNet3d', depth=18, base_channels=8,
                      pretrained=None, pretrained2d=False,
                      inflate=((1, 1), (1, 0), (1, 0), (0, 1)),
                      zero_init_residual=False),
        cls_head=dict(type='I3DHead', num_classes=num_classes,
                      in_channels=64, dropout_ratio=0.5,
                      average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN,
                               std=STD, to_rgb=to_rgb,
                               format_shape='NCTHW'))


def tiny_tsn(num_classes=NUM_CLASSES):
    return dict(
        _scope_='mmaction',
        type='Recognizer2D',
        backbone=dict(type='ResNet', depth=18, pretrained=None,
                      norm_eval=False),
        cls_head=dict(type='TSNHead', num_classes=num_classes,
                      in_channels=512, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN,
                               std=STD, format_shape='NCHW'))


def smm_cfg(task_model, channels=64):
    return ConfigDict(
        type='mmsimmm.SimMinMax',
        task_model=task_model,
        projector=dict(type='mmsimmm.BYOLProjector', hidden_channels=64,
                       out_channels=64),
        predictor=dict(type='mmsimmm.BYOLPredictor', in_channels=64,
                       hidden_channels=64, out_channels=64),
        night_exposure=dict(type='mmsimmm.NightExposureSampler',
                            exposure_range=(0.0, 0.2), patch_size=16),
        seed=0)


def video_batch(n=2, clips=1, frames=4, size=32, layout='NCTHW'):
    """What PackActionInputs gives: uint8 (clips, C, T, H, W) per sample
    (NCTHW) or (segments, C, H, W) (NCHW)."""
    from mmaction.structures import ActionDataSample
    gen = torch.Generator().manual_seed(0)
    shape = ((clips, 3, frames, size, size) if layout == 'NCTHW' else
             (clips * frames, 3, size, size))
    return dict(
        inputs=[torch.randint(0, 256, shape, generator=gen,
                              dtype=torch.uint8) for _ in range(n)],
        data_samples=[ActionDataSample().set_gt_label(i % NUM_CLASSES)
                      for i in range(n)])


@pytest.fixture
def i3d_smm():
    torch.manual_seed(0)
    model = MODELS.build(smm_cfg(tiny_i3d()))
    model.init_weights()
    model.train()
    return model


def test_adapter_follows_the_library_and_infers_pooled_channels(i3d_smm):
    assert default_task_adapter(i3d_smm.task_model) == 'MMActionTaskAdapter'
    assert isinstance(i3d_smm.task_adapter, MMActionTaskAdapter)
    # projector in_channels inferred from the pooled clip feature
    assert i3d_smm.projector.branches[0][1][0].in_features == 64
    assert i3d_smm.task_adapter.sample_ndim == 5  # NCTHW samples


@pytest.mark.parametrize('to_rgb', [False, True])
def test_clips_flatten_to_rgb_frames_and_restore(to_rgb):
    """(N, clips, C, T, H, W) -> frames ordered sample, clip, time, as RGB
    in [0, 1] (mmaction2 decodes RGB; to_rgb=True feeds BGR), and back."""
    torch.manual_seed(0)
    model = MODELS.build(smm_cfg(tiny_i3d(to_rgb=to_rgb)))
    adapter, prep = model.task_adapter, model.data_preprocessor
    batch = video_batch(n=2, clips=3, frames=4, size=8)
    inputs = prep(batch, True)['inputs']
    assert inputs.shape == (2, 3, 3, 4, 8, 8)
    frames = adapter.to_unit_rgb(prep, inputs)
    assert frames.shape == (2 * 3 * 4, 3, 8, 8)
    raw = torch.stack(batch['inputs']).float() / 255  # decoded RGB
    for n, k, t in [(0, 0, 0), (1, 2, 3), (1, 0, 2)]:
        torch.testing.assert_close(frames[(n * 3 + k) * 4 + t],
                                   raw[n, k, :, t], atol=1e-5, rtol=0)
    torch.testing.assert_close(
        adapter.from_unit_rgb(prep, frames, inputs), inputs, atol=1e-4,
        rtol=0)


def test_segments_flatten_and_restore_for_2d_recognizers():
    adapter = MMActionTaskAdapter()
    adapter.set_preprocessor_cfg(dict(mean=MEAN, std=STD,
                                      format_shape='NCHW'))
    assert adapter.sample_ndim == 4
    inputs = torch.randn(2, 5, 3, 6, 6)  # (N, segments, C, H, W)
    frames = adapter.frames(inputs)
    torch.testing.assert_close(frames[7], inputs[1, 2])
    torch.testing.assert_close(adapter.restore(frames, inputs), inputs)
    assert adapter.frames_per_exposure(inputs) == 5
    assert adapter.frames_per_exposure(torch.randn(2, 3, 3, 4, 6, 6)) == 4


def test_bad_layouts_are_named():
    adapter = MMActionTaskAdapter()
    with pytest.raises(ValueError, match=r'\(2, 3\) are not'):
        adapter.frames(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="format_shape='NCTHW_Heatmap'"):
        adapter.set_preprocessor_cfg(dict(format_shape='NCTHW_Heatmap'))


def darkener_calls(model):
    """Records the (images, exposure) pairs the darkener is called with."""
    calls = []
    forward = model.darkener.forward

    def recording(img, exposure, *args, **kwargs):
        calls.append((img.detach().clone(), exposure.detach().clone()))
        return forward(img, exposure, *args, **kwargs)

    model.darkener.forward = recording
    return calls


def test_stage1_draws_one_exposure_per_frame(i3d_smm, message_hub):
    calls = darkener_calls(i3d_smm)
    message_hub.update_info('smm_phase', 'darken')
    optim = build_optim(i3d_smm)
    before = snapshot(i3d_smm)
    log_vars = i3d_smm.train_step(video_batch(n=2, frames=4), optim)
    img, exposure = calls[0]
    assert img.shape == (8, 3, 32, 32)
    assert exposure.shape == (8, ) and len(set(exposure.tolist())) == 8
    assert 0 <= exposure.min() and exposure.max() <= 0.5
    assert {'darken.loss_sim', 'darken.loss_tv'} <= set(log_vars)
    assert 0 < log_vars['darken.similarity'] <= 1
    assert {k.split('.')[0] for k in changed(before, i3d_smm)} == \
        {'darkener'}


def test_stage2_shares_one_exposure_map_per_clip(i3d_smm, message_hub):
    calls = darkener_calls(i3d_smm)
    message_hub.update_info('smm_phase', 'adapt')
    optim = build_optim(i3d_smm)
    seen = {}
    task_loss = i3d_smm.task_adapter.task_loss

    def recording(task_model, inputs, data_samples):
        seen['inputs'], seen['samples'] = inputs.detach(), data_samples
        return task_loss(task_model, inputs, data_samples)

    i3d_smm.task_adapter.task_loss = recording
    before = snapshot(i3d_smm)
    batch = video_batch(n=4, clips=1, frames=4)
    log_vars = i3d_smm.train_step(batch, optim)
    img, exposure = calls[0]
    # E' is sampled at the resolution D estimates its curves at
    out_size = tuple(i3d_smm.darkener.estimation_size((32, 32)))
    assert exposure.shape == (16, 1, *out_size)  # 4 clips x 4 frames
    per_clip = exposure.reshape(4, 4, 1, *out_size)
    for clip in per_clip:  # the same map over time ...
        assert all(torch.equal(clip[0], frame) for frame in clip[1:])
    # ... and its own map per clip
    assert not torch.equal(per_clip[0, 0], per_clip[1, 0])
    # the map is the sampler's (level + pixel + patch noise) for 4 clips
    expected = i3d_smm.night_exposure(
        4, (32, 32), generator=i3d_smm._generator(torch.device('cpu')),
        out_size=out_size)
    torch.testing.assert_close(per_clip[:, 0], expected)
    # day and darkened clips reach the task loss in the model's layout
    assert seen['inputs'].shape == (8, 1, 3, 4, 32, 32)
    assert len(seen['samples']) == 8
    dark = i3d_smm.task_adapter.to_unit_rgb(i3d_smm.data_preprocessor,
                                            seen['inputs'][4:])
    day = i3d_smm.task_adapter.to_unit_rgb(i3d_smm.data_preprocessor,
                                           seen['inputs'][:4])
    assert dark.mean() < day.mean()
    torch.testing.assert_close(day, img, atol=1e-5, rtol=0)
    assert {'adapt.loss_cls', 'adapt.loss_byol'} <= set(log_vars)
    moved = {k.split('.')[0] for k in changed(before, i3d_smm)}
    assert moved == {'task_model', 'projector', 'predictor', 'target'}


def test_target_pools_like_the_online_tap(i3d_smm):
    """The EMA target's encoder gives the same pooled clip vectors as the
    head's average pool of the online model (weights synced)."""
    from mmsimmm.models.utils import FeatureRecorder
    i3d_smm.eval()
    inputs = torch.randn(2, 2, 3, 4, 32, 32)
    with FeatureRecorder(i3d_smm.task_model, 'cls_head.avg_pool') as rec, \
            torch.no_grad():
        i3d_smm.task_adapter.extract_features(i3d_smm.task_model, inputs)
        online = rec['cls_head.avg_pool']
    assert online.shape == (4, 64, 1, 1, 1)
    with torch.no_grad():
        target = i3d_smm.task_adapter.encode(i3d_smm.target.module, inputs)
    torch.testing.assert_close(target[0], online.flatten(1))


def test_tsn_phases(message_hub):
    torch.manual_seed(0)
    model = MODELS.build(smm_cfg(tiny_tsn()))
    model.init_weights()
    model.train()
    assert model.projector.branches[0][1][0].in_features == 512
    calls = darkener_calls(model)
    optim = build_optim(model)
    message_hub.update_info('smm_phase', 'darken')
    before = snapshot(model)
    model.train_step(video_batch(n=2, frames=3, layout='NCHW'), optim)
    assert calls[-1][1].shape == (6, )
    assert {k.split('.')[0] for k in changed(before, model)} == \
        {'darkener'}
    message_hub.update_info('smm_phase', 'adapt')
    before = snapshot(model)
    log_vars = model.train_step(video_batch(n=2, frames=3, layout='NCHW'),
                                optim)
    exposure = calls[-1][1]
    assert exposure.shape[:2] == (6, 1)  # one map per 3-segment clip
    assert torch.equal(exposure[0], exposure[2])
    assert not torch.equal(exposure[0], exposure[3])
    assert 'adapt.loss_byol' in log_vars
    moved = {k.split('.')[0] for k in changed(before, model)}
    assert moved == {'task_model', 'projector', 'predictor', 'target'}
