"""RefineNetHead (multi-path 4-cascaded RefineNet) and its R101 base config."""
import os.path as osp
import time

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

import mmsimmm  # noqa: F401  (compat setup)
from mmsimmm.models.decode_heads import RefineNetHead
from mmsimmm.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
R101_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'refinenet_r101.py')


def head_cfg(**kwargs):
    cfg = dict(
        type='mmsimmm.RefineNetHead',
        in_channels=[8, 16, 32, 64],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=16,
        path_channels=(16, 16, 16, 32),
        num_classes=19,
        dropout_ratio=0.1,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    cfg.update(kwargs)
    return cfg


def build_head(**kwargs):
    # mmseg's BaseDecodeHead builds its losses from unprefixed mmseg names,
    # so pin the default scope to mmseg (other tests may leave another one).
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(head_cfg(**kwargs))


def feats(n=2, h=64, w=96, channels=(8, 16, 32, 64), seed=0):
    """Features at strides 4/8/16/32 (ceil, as a ResNet produces them)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i, c in enumerate(channels):
        s = 4 * 2**i
        out.append(torch.randn(n, c, -(-h // s), -(-w // s), generator=gen))
    return out


def seg_samples(n, h, w, num_classes=19, seed=0):
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        labels = torch.randint(0, num_classes, (1, h, w), generator=gen)
        labels[:, :h // 4] = 255  # ignored band
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=labels)
        sample.set_metainfo(
            dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


def test_registered_in_mmsimmm_registry():
    assert MODELS.get('RefineNetHead') is RefineNetHead
    assert MODELS.scope == 'mmsimmm'
    # reachable from mmseg's registry through the scope prefix
    from mmseg.registry import MODELS as MMSEG_MODELS
    assert MMSEG_MODELS.get('mmsimmm.RefineNetHead') is RefineNetHead


@pytest.mark.parametrize('hw', [(64, 96), (65, 97)])
def test_output_shape(hw):
    h, w = hw
    head = build_head()
    assert isinstance(head, RefineNetHead)
    x = feats(2, h, w)
    out = head(x)
    assert out.shape == (2, 19, x[0].shape[2], x[0].shape[3])
    assert out.shape[2:] == (-(-h // 4), -(-w // 4))
    assert torch.isfinite(out).all()


def test_structure():
    head = build_head()
    assert len(head.reduce_convs) == 4
    assert [m.conv.out_channels for m in head.reduce_convs] == [16, 16, 16, 32]
    # RefineNet-4 refines the deepest path alone (no MRF), others fuse 2
    assert head.refine_blocks[3].mrf is None
    assert head.refine_blocks[3].in_channels == [32]
    assert head.refine_blocks[2].in_channels == [16, 32]
    assert head.refine_blocks[2].out_channels == 16
    for i in range(3):
        assert head.refine_blocks[i].mrf is not None
        assert len(head.refine_blocks[i].crp.convs) == 4
    assert head.proj is None  # channels == min(path_channels)
    assert len(head.final_rcus) == 2
    # no norm inside the blocks by default
    assert not any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        for m in head.refine_blocks.modules())


def test_configurable_and_norm_in_reduce_convs():
    head = build_head(
        channels=24,
        num_crp_blocks=2,
        norm_cfg=dict(type='BN', requires_grad=True))
    assert head.proj is not None  # 16 -> 24 projection
    assert all(len(b.crp.convs) == 2 for b in head.refine_blocks)
    assert all(m.with_norm for m in head.reduce_convs)
    out = head(feats(2, 64, 96))
    assert out.shape == (2, 19, 16, 24)


def test_three_paths():
    head = build_head(
        in_channels=[16, 32, 64],
        in_index=[1, 2, 3],
        path_channels=(16, 16, 32))
    x = feats(1, 64, 96)
    assert head(x).shape == (1, 19, 8, 12)


def test_gradients_reach_all_paths():
    head = build_head(dropout_ratio=0.0)
    x = feats(2, 64, 96)
    head(x).square().mean().backward()
    for i, conv in enumerate(head.reduce_convs):
        g = conv.conv.weight.grad
        assert g is not None and g.abs().sum() > 0, f'path {i} gets no grad'
    for name, p in head.named_parameters():
        assert p.grad is not None, name


def test_loss_and_predict_with_seg_data_samples():
    head = build_head()
    head.train()
    x = feats(2, 64, 96)
    samples = seg_samples(2, 64, 96)
    losses = head.loss(x, samples, train_cfg=ConfigDict())
    assert set(losses) >= {'loss_ce', 'acc_seg'}
    assert losses['loss_ce'].ndim == 0 and torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    assert head.reduce_convs[0].conv.weight.grad is not None

    # all pixels ignored -> zero loss
    for s in samples:
        s.gt_sem_seg.data[...] = 255
    losses = head.loss(x, samples, train_cfg=ConfigDict())
    assert losses['loss_ce'].item() == 0

    head.eval()
    metas = [s.metainfo for s in samples]
    with torch.no_grad():
        logits = head.predict(x, metas, test_cfg=ConfigDict())
    assert logits.shape == (2, 19, 64, 96)


def tiny_encoder_decoder_cfg(base_channels=8):
    """The tests' tiny segmentor with this head and an FCN auxiliary head."""
    from conftest import tiny_seg_model_cfg
    cfg = tiny_seg_model_cfg(base_channels=base_channels, size=(64, 128))
    norm_cfg = cfg.backbone.norm_cfg
    chans = [base_channels * 2**i for i in range(4)]
    cfg.decode_head = head_cfg(
        in_channels=chans,
        path_channels=(16, 16, 16, 32),
        channels=16,
        norm_cfg=norm_cfg)
    # the shipped R101 config's optional auxiliary head, narrowed
    cfg.auxiliary_head = Config.fromfile(R101_CFG).fcn_auxiliary_head
    cfg.auxiliary_head.update(in_channels=chans[2], channels=8,
                              norm_cfg=norm_cfg)
    return cfg


def test_tiny_encoder_decoder_loss_and_predict():
    from mmseg.registry import MODELS as MMSEG_MODELS
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(ConfigDict(tiny_encoder_decoder_cfg()))
    assert isinstance(model.decode_head, RefineNetHead)
    h, w = 64, 128
    gen = torch.Generator().manual_seed(1)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=seg_samples(2, h, w))

    model.train()
    batch = model.data_preprocessor(data, training=True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert model.backbone.stem[0].weight.grad is not None

    model.eval()
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
        logits = model(batch['inputs'], mode='tensor')
        assert logits.shape == (2, 19, h // 4, w // 4)
        results = model.predict(batch['inputs'], batch['data_samples'])
    assert len(results) == 2
    for r in results:
        assert r.pred_sem_seg.data.shape == (1, h, w)
        assert r.seg_logits.data.shape == (19, h, w)


def _bn_instead_of_syncbn(cfg):
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
        for v in cfg.values():
            _bn_instead_of_syncbn(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            _bn_instead_of_syncbn(v)


def test_r101_base_config():
    cfg = Config.fromfile(R101_CFG)
    m = cfg.model
    assert m.type == 'EncoderDecoder'
    assert m.pretrained == 'open-mmlab://resnet101_v1c'
    assert m.backbone.type == 'ResNetV1c' and m.backbone.depth == 101
    assert tuple(m.backbone.out_indices) == (0, 1, 2, 3)
    assert tuple(m.backbone.strides) == (1, 2, 2, 2)
    assert tuple(m.backbone.dilations) == (1, 1, 1, 1)
    assert m.decode_head.type == 'mmsimmm.RefineNetHead'
    assert m.decode_head.num_classes == 19
    assert tuple(m.decode_head.path_channels) == (256, 256, 256, 512)
    # the reference's head: no auxiliary head, element-wise dropout 0.5 on
    # stages 3-4 and before the classifier, CE over non-void pixels
    assert 'auxiliary_head' not in m
    assert m.decode_head.dropout_ratio == 0.5
    assert m.decode_head.input_dropout_ratio == 0.5
    assert tuple(m.decode_head.input_dropout_indices) == (2, 3)
    assert m.decode_head.elementwise_dropout
    assert m.decode_head.loss_decode.avg_non_ignore
    assert cfg.fcn_auxiliary_head.type == 'FCNHead'
    assert cfg.fcn_auxiliary_head.in_index == 2
    assert cfg.norm_cfg.type == 'SyncBN'

    model_cfg = cfg.model.to_dict()
    _bn_instead_of_syncbn(model_cfg)
    model_cfg['pretrained'] = None
    model_cfg['_scope_'] = 'mmseg'
    from mmseg.registry import MODELS as MMSEG_MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(ConfigDict(model_cfg))
    assert isinstance(model.decode_head, RefineNetHead)
    n_params = sum(p.numel() for p in model.parameters())
    n_head = sum(p.numel() for p in model.decode_head.parameters())
    print(f'RefineNet-R101: {n_params / 1e6:.2f}M params '
          f'(RefineNet head {n_head / 1e6:.2f}M)')
    assert 60e6 < n_params < 140e6

    model.eval()
    t0 = time.time()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 19, 16, 16)
    assert time.time() - t0 < 30
