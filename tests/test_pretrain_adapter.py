"""The same SimMinMax on an mmpretrain classifier: only the adapter and the
projector differ (the core takes a new library without changes)."""
import pytest
import torch
from mmengine.config import ConfigDict

from mmsimmm.registry import MODELS
from conftest import MEAN, STD
from test_sim_min_max import build_optim, changed, snapshot

pytest.importorskip('mmpretrain')


def tiny_classifier_smm():
    return ConfigDict(
        type='mmsimmm.SimMinMax',
        task_model=dict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor', mean=MEAN, std=STD,
                to_rgb=True, num_classes=10),
            backbone=dict(type='ResNet', depth=18, base_channels=8,
                          out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=64)),
        task_adapter=dict(type='MMPretrainTaskAdapter'),
        projector=dict(type='mmsimmm.BYOLProjector', in_channels=64),
        predictor=dict(type='mmsimmm.BYOLPredictor'),
        night_exposure=dict(type='mmsimmm.NightExposureSampler',
                            patch_size=16),
        byol_loss=dict(type='mmsimmm.BYOLLoss', loss_weight=0.05),
        seed=0)


def cls_batch(n=4, size=32):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    return dict(
        inputs=[torch.randint(0, 256, (3, size, size), generator=gen,
                              dtype=torch.uint8) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % 10) for i in range(n)])


def test_classifier_phases(message_hub):
    model = MODELS.build(tiny_classifier_smm())
    model.init_weights()
    model.train()
    optim = build_optim(model)
    message_hub.update_info('smm_phase', 'darken')
    before = snapshot(model)
    log_vars = model.train_step(cls_batch(), optim)
    assert 'darken.loss_sim' in log_vars
    assert {k.split('.')[0] for k in changed(before, model)} == {'darkener'}
    message_hub.update_info('smm_phase', 'adapt')
    before = snapshot(model)
    log_vars = model.train_step(cls_batch(), optim)
    assert {'adapt.loss', 'adapt.loss_byol'} <= set(log_vars)
    moved = {k.split('.')[0] for k in changed(before, model)}
    assert moved == {'task_model', 'projector', 'predictor', 'target'}
    # the EMA target holds backbone + neck + projector
    assert set(model.target.module) == {'backbone', 'neck', 'projector'}
