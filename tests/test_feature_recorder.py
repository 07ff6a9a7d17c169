import pytest
import torch
from mmengine.config import ConfigDict

from mmsimmm.models import FeatureRecorder
from conftest import tiny_seg_model_cfg


def test_taps_mmseg_model_without_editing_it():
    from mmseg.registry import MODELS
    model = MODELS.build(tiny_seg_model_cfg()).eval()
    x = torch.randn(2, 3, 32, 64)
    with FeatureRecorder(model, ['backbone', 'backbone.layer4']) as rec:
        feats = model.extract_feat(x)
    assert len(rec['backbone']) == 4
    for a, b in zip(rec['backbone'], feats):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(rec['backbone.layer4'], feats[3])
    # hooks are removed on exit: nothing recorded afterwards
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(KeyError, match="no module 'backbone.layer9'"):
        FeatureRecorder(model, 'backbone.layer9')
    with pytest.raises(KeyError, match='not called'):
        with FeatureRecorder(model, 'decode_head') as rec:
            model.extract_feat(x)
        rec['decode_head']


def test_taps_mmpretrain_classifier():
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import MODELS
    model = MODELS.build(
        ConfigDict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10,
                      in_channels=512))).eval()
    x = torch.randn(2, 3, 32, 32)
    with FeatureRecorder(model, ['backbone.layer4', 'neck']) as rec:
        model.extract_feat(x)
    assert rec['backbone.layer4'].shape == (2, 512, 1, 1)
    assert rec['neck'][0].shape == (2, 512)


def test_taps_mmaction_recognizer3d():
    pytest.importorskip('mmaction')
    from mmaction.registry import MODELS
    model = MODELS.build(
        ConfigDict(
            _scope_='mmaction',
            type='Recognizer3D',
            backbone=dict(
                type='ResNet3d', depth=18, pretrained=None,
                pretrained2d=False, base_channels=8,
                norm_cfg=dict(type='BN3d')),
            cls_head=dict(type='I3DHead', num_classes=11, in_channels=64,
                          average_clips='prob'))).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with FeatureRecorder(model, 'backbone') as rec:
        model.extract_feat(x[:, None])
    assert rec['backbone'].shape[:2] == (2, 64)
