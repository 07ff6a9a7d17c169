"""SMM on an mmpretrain classifier as its configs are written: the adapter
follows the task model's library, the top-level data preprocessor reaches
the task model, and a two-view batch (mmpretrain's MultiView) darkens its
second view, with the task loss on both views and BYOL across them."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmsimmm.models.algorithms.sim_min_max import SECOND_VIEW_KEY
from mmsimmm.models.task_adapters import (MMPretrainTaskAdapter,
                                          MMSegTaskAdapter)
from mmsimmm.models.task_adapters.selection import (default_task_adapter,
                                                    task_adapter_cfg)
from mmsimmm.registry import MODELS
from conftest import MEAN, STD, tiny_seg_model_cfg
from test_sim_min_max import build_optim, changed, snapshot

pytest.importorskip('mmpretrain')

SIZE = 32
# mmpretrain keeps this at the top level of a config, without a type
TOP_LEVEL_PREPROCESSOR = dict(num_classes=10, mean=MEAN, std=STD, to_rgb=True)


def tiny_classifier():
    """mmpretrain ResNet-18 (8 base channels -> 64 at layer4) as its
    configs write it: no data_preprocessor inside the model."""
    return ConfigDict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                  topk=(1, )))


def tiny_cls_smm(**kwargs):
    """The README's lines around an mmpretrain model: no adapter named, the
    preprocessor handed over as the Runner does."""
    cfg = ConfigDict(
        type='mmsimmm.SimMinMax',
        task_model=tiny_classifier(),
        task_adapter=dict(darken_taps=('backbone.layer4', )),
        darkener=dict(type='mmsimmm.CurveDarkener', scale_factor=2),
        projector=dict(type='mmsimmm.BYOLProjector', in_channels=64),
        predictor=dict(type='mmsimmm.BYOLPredictor'),
        night_exposure=dict(type='mmsimmm.NightExposureSampler',
                            patch_size=16),
        byol_loss=dict(type='mmsimmm.BYOLLoss', loss_weight=0.05),
        data_preprocessor=TOP_LEVEL_PREPROCESSOR,
        seed=0)
    cfg.update(kwargs)
    return cfg


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def two_view_batch(n=4, seed=0):
    """A batch as the CODaN SMM pipeline makes it: MultiView (2 views, each
    its own crop / flip / jitter) + PackInputs, pseudo-collated."""
    from mmpretrain.datasets.transforms import MultiView, PackInputs
    view = [
        dict(type='RandomResizedCrop', scale=SIZE,
             crop_ratio_range=(0.5, 1.0)),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='ColorJitter', brightness=0.3, contrast=0.3,
             saturation=0.3, hue=0.3),
    ]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        multi_view, pack = MultiView([view], num_views=2), PackInputs()
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # the mmpretrain transforms draw from numpy
    samples = []
    for i in range(n):
        img = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        results = dict(img=img, gt_label=i % 10, img_shape=img.shape[:2],
                       ori_shape=img.shape[:2])
        samples.append(pack(multi_view(results)))
    return pseudo_collate(samples)


# ------------------------------------------------------------ building
def test_adapter_follows_the_task_models_library():
    assert build(tiny_cls_smm()).task_adapter.__class__ is \
        MMPretrainTaskAdapter
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = MODELS.build(tiny_seg_model_cfg())
    assert default_task_adapter(seg) == 'MMSegTaskAdapter'
    # a user's subclass elsewhere gets its base library's adapter
    from mmpretrain.models import ImageClassifier

    class MyClassifier(ImageClassifier):
        pass

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        mine = MyClassifier(**{k: v for k, v in tiny_classifier().items()
                               if k != 'type'})
    assert default_task_adapter(mine) == 'MMPretrainTaskAdapter'
    # a named adapter is kept; given settings without a type get the type
    assert task_adapter_cfg(dict(type='MMSegTaskAdapter'), mine) == dict(
        type='MMSegTaskAdapter')
    assert task_adapter_cfg(dict(online_tap='neck'), mine) == dict(
        online_tap='neck', type='MMPretrainTaskAdapter')
    with pytest.raises(ValueError,
                       match='no task adapter is registered for '
                       r'torch.nn.modules.linear.Linear; name one'):
        default_task_adapter(torch.nn.Linear(2, 2))


def test_top_level_preprocessor_reaches_the_task_model():
    model = build(tiny_cls_smm())
    pre = model.task_model.data_preprocessor
    assert model.data_preprocessor is pre
    assert type(pre).__name__ == 'ClsDataPreprocessor'
    torch.testing.assert_close(pre.mean.flatten(), torch.tensor(MEAN))
    torch.testing.assert_close(pre.std.flatten(), torch.tensor(STD))
    assert pre.to_rgb
    # the task model's own preprocessor wins over a different top-level one
    own = dict(TOP_LEVEL_PREPROCESSOR, mean=[0.0, 0.0, 0.0])
    cfg = tiny_cls_smm()
    cfg.task_model.data_preprocessor = own
    model = build(cfg)
    assert model.data_preprocessor.mean.abs().sum() == 0


# ------------------------------------------------------------ two views
def test_two_views_differ_and_both_reach_the_task_loss(message_hub):
    model = build(tiny_cls_smm())
    model.train()
    batch = two_view_batch()
    views = model.task_adapter.split_view_batch(batch)
    assert len(views) == 2
    first = model.data_preprocessor(copy.deepcopy(views[0]), True)['inputs']
    second = model.data_preprocessor(copy.deepcopy(views[1]),
                                     True)['inputs']
    assert first.shape == second.shape == (4, 3, SIZE, SIZE)
    # own crop / flip / jitter per view: clearly different images
    assert (first - second).abs().mean() > 0.2
    data = model._preprocess(batch)
    torch.testing.assert_close(data['inputs'], first)
    torch.testing.assert_close(data[SECOND_VIEW_KEY], second)

    seen = {}
    adapter = model.task_adapter
    task_loss = adapter.task_loss

    def recording_task_loss(task_model, inputs, data_samples):
        seen['inputs'] = inputs.detach().clone()
        seen['labels'] = [int(s.gt_label) for s in data_samples]
        return task_loss(task_model, inputs, data_samples)

    adapter.task_loss = recording_task_loss
    message_hub.update_info('smm_phase', 'adapt')
    message_hub.update_info('iter', 7)
    optim = build_optim(model)
    log_vars = model.train_step(batch, optim)
    assert {'adapt.loss', 'adapt.loss_byol'} <= set(log_vars)
    # the task loss saw view 1 as it is and D(view 2), labels repeated
    expected_dark = adapter.from_unit_rgb(
        model.data_preprocessor,
        model.darken_view(adapter.to_unit_rgb(model.data_preprocessor,
                                              second),
                          model._generator(second.device)), second)
    torch.testing.assert_close(seen['inputs'][:4], first)
    torch.testing.assert_close(seen['inputs'][4:], expected_dark)
    assert seen['labels'] == [0, 1, 2, 3] * 2
    # ... and not D(view 1), which a single-view batch would darken
    dark_of_first = adapter.from_unit_rgb(
        model.data_preprocessor,
        model.darken_view(adapter.to_unit_rgb(model.data_preprocessor,
                                              first),
                          model._generator(first.device)), first)
    assert (seen['inputs'][4:] - dark_of_first).abs().mean() > 0.1


def test_byol_pairs_view_one_with_dark_view_two(message_hub):
    """BYOL predicts the target of D(view 2) from view 1 and the target of
    view 1 from D(view 2)."""
    model = build(tiny_cls_smm())
    model.train()
    batch = two_view_batch(seed=1)
    message_hub.update_info('smm_phase', 'adapt')
    adapter, pre = model.task_adapter, model.data_preprocessor
    data = model._preprocess(copy.deepcopy(batch))
    first, second = data['inputs'], data[SECOND_VIEW_KEY]
    dark = adapter.from_unit_rgb(
        pre, model.darken_view(adapter.to_unit_rgb(pre, second),
                               model._generator(second.device)), second)
    with torch.no_grad():
        target = model.target.module
        z = target['projector'](adapter.encode(
            target, torch.cat([first, dark])))[0]
    calls = []
    byol = model.byol_loss.forward

    def recording(prediction, target):
        calls.append(target.clone())
        return byol(prediction, target)

    model.byol_loss.forward = recording
    model.train_step(batch, build_optim(model))
    z_dark_seen, z_day_seen = calls
    torch.testing.assert_close(z_dark_seen, z[4:], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(z_day_seen, z[:4], atol=1e-5, rtol=1e-4)
    assert (z[:4] - z[4:]).abs().mean() > 1e-3


def test_phases_move_their_own_parameters(message_hub):
    model = build(tiny_cls_smm())
    model.train()
    optim = build_optim(model)
    message_hub.update_info('smm_phase', 'darken')
    before = snapshot(model)
    log_vars = model.train_step(two_view_batch(), optim)
    assert {'darken.loss_sim', 'darken.loss_flex'} <= set(log_vars)
    assert {k.split('.')[0] for k in changed(before, model)} == {'darkener'}
    message_hub.update_info('smm_phase', 'adapt')
    before = snapshot(model)
    model.train_step(two_view_batch(), optim)
    moved = {k.split('.')[0] for k in changed(before, model)}
    assert moved == {'task_model', 'projector', 'predictor', 'target'}


def test_three_views_are_refused(message_hub):
    model = build(tiny_cls_smm())
    batch = two_view_batch()
    batch['inputs'] = list(batch['inputs']) + [batch['inputs'][0]]
    message_hub.update_info('smm_phase', 'adapt')
    with pytest.raises(ValueError, match='holds 3 views of each image'):
        model.train_step(batch, build_optim(model))


def test_single_view_batches_still_darken_the_day_view(message_hub):
    """Without MultiView, stage 2 darkens the day view itself (the
    segmentation path)."""
    model = build(tiny_cls_smm())
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    batch = dict(
        inputs=[torch.randint(0, 256, (3, SIZE, SIZE), generator=gen,
                              dtype=torch.uint8) for _ in range(4)],
        data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    assert model.task_adapter.split_view_batch(batch) is None
    data = model._preprocess(copy.deepcopy(batch))
    assert SECOND_VIEW_KEY not in data
    message_hub.update_info('smm_phase', 'adapt')
    log_vars = model.train_step(batch, build_optim(model))
    assert torch.isfinite(log_vars['loss'])
