"""Issue 9 items 1, 6, 7 and 10: the paper configs' stage-1 data and test
protocol, the reference's RefineNet head options, and the input channel
order read from the preprocessor config in both directions."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from data_trees import make_cityscapes, make_dark_zurich

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAPER_CFG = osp.join(ROOT, 'configs', 'darkzurich_simmm.py')


def _local(loader, tmp_path):
    loader.dataset.data_root = str(tmp_path / loader.dataset.data_root)
    loader.num_workers = 0
    loader.persistent_workers = False
    return loader


def test_stage_one_reads_whole_day_images_at_256x512(tmp_path):
    make_cityscapes(str(tmp_path / 'data' / 'cityscapes'), num_train=2,
                    num_val=0)
    cfg = Config.fromfile(PAPER_CFG)
    darken = _local(cfg.train_cfg.darken_dataloader, tmp_path)
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = Runner.build_dataloader(darken).dataset
    first, again = dataset[0], dataset[0]
    assert first['inputs'].shape == (3, 256, 512)
    # whole image, no augmentation: the same sample every time, all of it
    assert torch.equal(first['inputs'], again['inputs'])
    assert first['data_samples'].img_shape == (256, 512)
    assert first['data_samples'].ori_shape == (64, 128)
    assert 'gt_sem_seg' not in first['data_samples']


def test_paper_test_protocol_scores_at_512x1024(tmp_path):
    make_dark_zurich(str(tmp_path / 'data' / 'dark_zurich'), num=1)
    cfg = Config.fromfile(PAPER_CFG)
    loader = _local(cfg.val_dataloader[0], tmp_path)
    with DefaultScope.overwrite_default_scope('mmseg'):
        paper = Runner.build_dataloader(loader).dataset[0]
        loader.dataset.pipeline = cfg.mmseg_test_pipeline
        mmseg = Runner.build_dataloader(loader).dataset[0]
    # the reference: image stretched, labels resized nearest, scored there
    assert paper['inputs'].shape == (3, 512, 1024)
    assert paper['data_samples'].gt_sem_seg.shape == (512, 1024)
    assert paper['data_samples'].ori_shape == (512, 1024)
    # the option (mmseg's protocol): keep the ratio, score at the file's size
    assert mmseg['data_samples'].ori_shape == (54, 96)
    assert mmseg['data_samples'].gt_sem_seg.shape == (54, 96)


def test_baseline_uses_the_same_test_protocol():
    paper = Config.fromfile(PAPER_CFG)
    baseline = Config.fromfile(
        osp.join(ROOT, 'configs', 'darkzurich_day_baseline.py'))
    for a, b in zip(paper.test_dataloader, baseline.test_dataloader):
        assert a.dataset.pipeline == b.dataset.pipeline
    assert any(t['type'] == 'mmsimmm.ResizeForEvaluation'
               for t in baseline.test_dataloader[0].dataset.pipeline)


def test_paper_task_model_is_the_reference_refinenet():
    task = Config.fromfile(PAPER_CFG).model.task_model
    assert 'auxiliary_head' not in task
    head = task.decode_head
    assert (head.dropout_ratio, head.input_dropout_ratio) == (0.5, 0.5)
    assert head.elementwise_dropout
    assert head.loss_decode.avg_non_ignore


def _head(**kwargs):
    from mmsimmm.registry import MODELS
    cfg = dict(
        type='mmsimmm.RefineNetHead',
        in_channels=[4, 8, 8, 16],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=8,
        path_channels=(8, 8, 8, 8),
        num_classes=3,
        dropout_ratio=0.0,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def _feats(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(2, c, 32 // 2**i, 32 // 2**i, generator=gen)
        for i, c in enumerate((4, 8, 8, 16))
    ]


class _ZeroOut(nn.Module):
    """A dropout that drops everything, recording what it saw."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def forward(self, x):
        self.shapes.append(tuple(x.shape))
        return torch.zeros_like(x)


def test_head_input_dropout_acts_on_the_two_deepest_stages():
    torch.manual_seed(0)
    head = _head(input_dropout_ratio=0.5, elementwise_dropout=True)
    assert type(head.input_dropout) is nn.Dropout
    feats = _feats()
    head.eval()  # dropout is off at test time
    plain = _head()
    plain.load_state_dict(head.state_dict())
    plain.eval()
    torch.testing.assert_close(head(feats), plain(feats))
    head.train()
    zero = _ZeroOut()
    head.input_dropout = zero
    dropped = [f.clone() for f in feats]
    dropped[2].zero_()
    dropped[3].zero_()
    plain.train()
    torch.testing.assert_close(head(feats), plain(dropped))
    assert zero.shapes == [(2, 8, 8, 8), (2, 16, 4, 4)]


def test_head_dropout_kinds_and_bad_indices():
    assert type(_head(dropout_ratio=0.5).dropout) is nn.Dropout2d
    assert type(_head(dropout_ratio=0.5,
                      elementwise_dropout=True).dropout) is nn.Dropout
    assert _head().input_dropout is None
    with pytest.raises(ValueError, match=r'input_dropout_indices \[4\]'):
        _head(input_dropout_ratio=0.5, input_dropout_indices=(2, 4))


# ------------------------------------------- item 10: input channel order
def _rgb_image():
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (2, 3, 8, 8), generator=gen).float()


@pytest.mark.parametrize('flags,loaded_as', [
    (dict(bgr_to_rgb=True), 'bgr'),
    (dict(rgb_to_bgr=True), 'rgb'),
    (dict(), 'bgr'),
])
def test_seg_adapter_reads_the_channel_order_both_ways(flags, loaded_as):
    """An RGB image, loaded in ``loaded_as`` order, goes through mmseg's
    preprocessor; the adapter must hand the darkener RGB again."""
    from mmseg.models import SegDataPreProcessor

    from mmsimmm.models.task_adapters import MMSegTaskAdapter
    cfg = dict(mean=[10., 20., 30.], std=[2., 3., 4.], **flags)
    preprocessor = SegDataPreProcessor(**cfg)
    rgb = _rgb_image()
    loaded = rgb.flip(1) if loaded_as == 'bgr' else rgb
    inputs = preprocessor(dict(inputs=list(loaded)), False)['inputs']
    adapter = MMSegTaskAdapter()
    adapter.set_preprocessor_cfg(cfg)
    unit = adapter.to_unit_rgb(preprocessor, inputs)
    torch.testing.assert_close(unit, rgb / 255)
    torch.testing.assert_close(
        adapter.from_unit_rgb(preprocessor, unit, inputs), inputs)
    # the same from an explicit setting, without the config
    explicit = MMSegTaskAdapter(
        input_channel_order='rgb' if 'bgr_to_rgb' in flags else 'bgr')
    torch.testing.assert_close(explicit.to_unit_rgb(preprocessor, inputs),
                               rgb / 255)


@pytest.mark.parametrize('to_rgb', [True, False])
def test_pretrain_adapter_reads_to_rgb(to_rgb):
    from mmpretrain.models import ClsDataPreprocessor

    from mmsimmm.models.task_adapters import MMPretrainTaskAdapter
    cfg = dict(mean=[10., 20., 30.], std=[2., 3., 4.], to_rgb=to_rgb)
    preprocessor = ClsDataPreprocessor(**cfg)
    rgb = _rgb_image()
    inputs = preprocessor(dict(inputs=rgb.flip(1)), False)['inputs']
    adapter = MMPretrainTaskAdapter()
    adapter.set_preprocessor_cfg(cfg)
    torch.testing.assert_close(adapter.to_unit_rgb(preprocessor, inputs),
                               rgb / 255)


def test_conflicting_or_unknown_channel_settings_are_named():
    from mmsimmm.models.task_adapters import MMSegTaskAdapter
    with pytest.raises(ValueError, match='both bgr_to_rgb and rgb_to_bgr'):
        MMSegTaskAdapter().set_preprocessor_cfg(
            dict(bgr_to_rgb=True, rgb_to_bgr=True))
    with pytest.raises(ValueError, match="got 'gbr'"):
        MMSegTaskAdapter(input_channel_order='gbr')


def test_old_reading_would_flip_rgb_to_bgr_inputs():
    """Without the config, a swapping preprocessor is read as bgr_to_rgb
    (the common case); with rgb_to_bgr that is wrong, which is why SimMinMax
    hands the adapter the preprocessor config."""
    from mmseg.models import SegDataPreProcessor

    from mmsimmm.models.task_adapters import MMSegTaskAdapter
    preprocessor = SegDataPreProcessor(rgb_to_bgr=True)
    rgb = _rgb_image()
    inputs = preprocessor(dict(inputs=list(rgb)), False)['inputs']
    guessed = MMSegTaskAdapter().to_unit_rgb(preprocessor, inputs)
    assert not np.allclose(guessed.numpy(), (rgb / 255).numpy())


def test_sim_min_max_hands_the_preprocessor_config_to_its_adapter():
    """Built from a task model whose preprocessor converts RGB -> BGR,
    SimMinMax's adapter gives the darkener RGB (the old reading flipped it)."""
    from mmengine.registry import DefaultScope

    from conftest import tiny_smm_cfg
    from mmsimmm.registry import MODELS
    cfg = tiny_smm_cfg()
    cfg.task_model.data_preprocessor = dict(
        type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.],
        rgb_to_bgr=True, size=(32, 64))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg)
    rgb = _rgb_image()
    inputs = model.data_preprocessor(dict(inputs=list(rgb)), False)['inputs']
    torch.testing.assert_close(
        model.task_adapter.to_unit_rgb(model.data_preprocessor, inputs),
        rgb / 255)
