"""check_byol_necks: BYOL necks that do not fit the task model are named at
build time (one line saying what to set), not at the first stage-2 step."""
import pytest
import torch
from mmengine.registry import DefaultScope

from conftest import tiny_smm_cfg
from test_pretrain_adapter import tiny_classifier_smm

from mmsimmm.models.algorithms.neck_check import (byol_tap_channels,
                                                  byol_tap_shapes,
                                                  check_byol_necks)
from mmsimmm.registry import MODELS


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def test_fitting_necks_pass_and_give_the_tapped_channels():
    model = build(tiny_smm_cfg())  # ResNetV1c-18, base 8: 8, 16, 32, 64
    model.train()
    bn = next(m for m in model.task_model.backbone.modules()
              if isinstance(m, torch.nn.BatchNorm2d))
    running = bn.running_mean.clone()
    assert check_byol_necks(model) == [8, 16, 32, 64]
    assert model.training  # mode restored, BN statistics untouched
    assert torch.equal(bn.running_mean, running)
    # stride 4 .. 32 maps of a 64x64 probe
    assert byol_tap_shapes(model.task_model, model.task_adapter) == [
        (8, 16, 16), (16, 8, 8), (32, 4, 4), (64, 2, 2)]


def test_wrong_projector_channels_are_named_at_build():
    with pytest.raises(ValueError) as error:
        build(tiny_smm_cfg(projector=dict(
            type='mmsimmm.BYOLProjector', in_channels=[16, 32, 64, 128],
            dense=True)))
    assert str(error.value) == (
        'SimMinMax: projector.in_channels=[16, 32, 64, 128] but the task '
        "model's BYOL tap 'backbone' gives channels [8, 16, 32, 64]; set "
        'projector.in_channels=[8, 16, 32, 64]')


def test_wrong_number_of_branches_is_named():
    with pytest.raises(ValueError, match=r'the projector has 1 branch\(es\) '
                       r'but .* gives 4 feature\(s\) .* set '
                       r'projector.in_channels=\[8, 16, 32, 64\]'):
        build(tiny_smm_cfg(
            projector=dict(type='mmsimmm.BYOLProjector', in_channels=64,
                           dense=True),
            predictor=dict(type='mmsimmm.BYOLPredictor')))


def test_predictor_mismatch_is_named():
    with pytest.raises(ValueError, match='set predictor.num_branches=4'):
        build(tiny_smm_cfg(predictor=dict(type='mmsimmm.BYOLPredictor',
                                          num_branches=2)))
    with pytest.raises(ValueError, match='projector branch 0 outputs 128 '
                       'features but the predictor takes 64'):
        build(tiny_smm_cfg(predictor=dict(
            type='mmsimmm.BYOLPredictor', num_branches=4, in_channels=64)))


def test_classifier_pooled_neck_and_dense_projector_on_vectors():
    pytest.importorskip('mmpretrain')
    model = build(tiny_classifier_smm())  # pooled 64-d neck output
    assert check_byol_necks(model) == [64]
    assert byol_tap_channels(model.task_model, model.task_adapter) == [64]
    cfg = tiny_classifier_smm()
    cfg.projector = dict(type='mmsimmm.BYOLProjector', in_channels=64,
                         dense=True)
    with pytest.raises(ValueError, match='projector.dense=True needs '
                       r'feature maps .* shape \(N, 64\); set dense=False'):
        build(cfg)


def test_projector_channels_are_inferred_when_left_out():
    model = build(tiny_smm_cfg(projector=dict(type='mmsimmm.BYOLProjector',
                                              dense=True)))
    assert [b[0].in_channels for b in model.projector.branches] == \
        [8, 16, 32, 64]


def test_model_without_byol_passes():
    model = build(tiny_smm_cfg(projector=None, predictor=None))
    assert check_byol_necks(model) == []
