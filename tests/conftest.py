"""Tiny real downstream models and simulated runner state for the tests."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub

import mmsimmm  # noqa: F401

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


@pytest.fixture(autouse=True, scope='session')
def unformatted_config_text():
    """mmengine runs yapf over every config it logs or dumps (~0.5 s each,
    a third of a tiny Runner's start-up); no test reads that layout, and the
    unformatted text is the same Python (dumped configs still load)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr('mmengine.config.config.FormatCode',
                      lambda text, **kwargs: (text, False))
        yield


def tiny_seg_model_cfg(num_classes=19, base_channels=8, size=(32, 64)):
    """mmseg EncoderDecoder: ResNetV1c-18 (narrow) + FCN head, plain BN."""
    norm_cfg = dict(type='BN', requires_grad=True)
    stage_channels = [base_channels * 2**i for i in range(4)]
    return ConfigDict(
        _scope_='mmseg',
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size=size),
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=base_channels,
            stem_channels=base_channels,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            norm_cfg=norm_cfg,
            contract_dilation=True),
        decode_head=dict(
            type='FCNHead',
            in_channels=stage_channels[-1],
            in_index=3,
            channels=16,
            num_convs=1,
            dropout_ratio=0.0,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False,
                loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def tiny_smm_cfg(base_channels=8, **kwargs):
    stage_channels = [base_channels * 2**i for i in range(4)]
    cfg = dict(
        type='mmsimmm.SimMinMax',
        task_model=tiny_seg_model_cfg(base_channels=base_channels),
        darkener=dict(type='mmsimmm.CurveDarkener', scale_factor=2),
        task_adapter=dict(type='MMSegTaskAdapter'),
        projector=dict(
            type='mmsimmm.BYOLProjector',
            in_channels=stage_channels,
            dense=True),
        predictor=dict(type='mmsimmm.BYOLPredictor', num_branches=4),
        night_exposure=dict(type='mmsimmm.NightExposureSampler',
                            patch_size=16),
        seed=0)
    cfg.update(kwargs)
    return ConfigDict(cfg)


def seg_batch(n=2, h=32, w=64, num_classes=19, seed=0):
    """A data batch as mmseg's pipeline + pseudo_collate produce it."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen,
                                    dtype=torch.uint8))
        sample = SegDataSample()
        labels = torch.randint(0, num_classes, (1, h, w), generator=gen)
        sample.gt_sem_seg = PixelData(data=labels)
        sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w),
                                 pad_shape=(h, w)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture
def message_hub(request):
    # a new instance per test is the current one, whatever Runners earlier
    # tests created (an existing name would not become current again)
    hub = MessageHub.get_instance(f'mmsimmm-tests-{request.node.nodeid}')
    assert MessageHub.get_current_instance() is hub
    hub.update_info('iter', 0)
    yield hub
    hub.runtime_info.clear()
