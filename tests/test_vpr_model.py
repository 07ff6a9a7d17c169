"""GeM retriever, contrastive tuple loss and the retrieval task adapter:
values against independent computations, and the darkened query entering
the stage-2 loss as an extra positive of its own tuple."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmsimmm.models import ContrastiveTupleLoss, GeMRetriever
from mmsimmm.models.task_adapters import MMRetrievalTaskAdapter
from mmsimmm.registry import MODELS
from test_sim_min_max import build_optim, changed, snapshot
from conftest import MEAN, STD

SIZE = 32


def tiny_retriever_cfg(**kwargs):
    return dict(
        type='mmsimmm.GeMRetriever',
        backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=8,
                      out_indices=(3, ), norm_eval=True),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               mean=MEAN, std=STD, to_rgb=True),
        **kwargs)


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmsimmm'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(roles_per_tuple, shapes=None):
    out = []
    for t, roles in enumerate(roles_per_tuple):
        for r in roles:
            meta = dict(tuple_index=t, tuple_role=r,
                        img_shape=(SIZE, SIZE))
            out.append(DataSample(metainfo=meta))
    if shapes:
        for sample, shape in zip(out, shapes):
            sample.set_metainfo(dict(img_shape=shape))
    return out


def cirtorch_loss(x, tuples, margin, eps=1e-6):
    """The reference formula, tuple by tuple (float64 numpy): positives
    d^2/2, negatives max(0, margin - d)^2/2, d = ||q - x + eps||."""
    x = x.detach().double().numpy()
    total, position = 0.0, 0
    for roles in tuples:
        rows = x[position:position + len(roles)]
        query = rows[roles.index('query')]
        for row, role in zip(rows, roles):
            d = np.sqrt(((query - row + eps)**2).sum())
            if role == 'positive':
                total += 0.5 * d**2
            elif role == 'negative':
                total += 0.5 * max(0.0, margin - d)**2
        position += len(roles)
    return total


@pytest.mark.parametrize('tuples', [
    [['query', 'positive', 'negative', 'negative']] * 3,
    # any number of positives, in any order
    [['positive', 'query', 'negative', 'positive', 'positive'],
     ['query', 'positive']],
])
def test_contrastive_loss_matches_the_reference_formula(tuples):
    torch.manual_seed(0)
    n = sum(len(t) for t in tuples)
    x = F.normalize(torch.randn(n, 16), dim=1).requires_grad_()
    index = [t for t, roles in enumerate(tuples) for _ in roles]
    roles = [r for t in tuples for r in t]
    for margin in (0.85, 1.9):  # 1.9: every negative inside the margin
        loss = ContrastiveTupleLoss(margin=margin)(x, index, roles)
        assert loss.item() == pytest.approx(
            cirtorch_loss(x, tuples, margin), rel=1e-5)
    mean = ContrastiveTupleLoss(margin=0.85, reduction='mean')(x, index,
                                                                 roles)
    assert mean.item() == pytest.approx(
        cirtorch_loss(x, tuples, 0.85) / len(tuples), rel=1e-5)
    mean.backward()
    assert x.grad.abs().sum() > 0


def test_contrastive_loss_rejects_malformed_tuples():
    loss = ContrastiveTupleLoss()
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match='tuple 0 has no positive'):
        loss(x, [0, 0, 0], ['query', 'negative', 'negative'])
    with pytest.raises(ValueError, match='tuple 1 has no query'):
        loss(x, [0, 0, 1], ['query', 'positive', 'positive'])
    with pytest.raises(ValueError, match='more than one query'):
        loss(x, [0, 0, 0], ['query', 'query', 'positive'])
    with pytest.raises(ValueError, match="reduction must be 'sum'"):
        ContrastiveTupleLoss(reduction='max')


def test_descriptors_are_l2_normalised_gem_and_ignore_padding():
    model = build(tiny_retriever_cfg()).eval()
    torch.manual_seed(0)
    small = torch.randn(1, 3, 32, 64)  # layer4: 1 x 2
    padded = F.pad(small, (0, 0, 0, 32), value=0.0)  # 64 x 64: 2 x 2
    batch = torch.cat([padded, torch.randn(1, 3, 64, 64)])
    with torch.no_grad():
        desc = model.extract_descriptors(
            batch, samples([['query', 'positive']],
                           shapes=[(32, 64), (64, 64)]))
        unmasked = model.extract_descriptors(batch)
        alone = model.extract_descriptors(small)
        # GeM (p = 3) of layer4, then L2 normalisation, by hand
        feature = model.backbone(small)[-1]
        gem = feature.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1 / 3)
    torch.testing.assert_close(desc.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(alone, F.normalize(gem, dim=1))
    # the padded image is described by its own region only
    torch.testing.assert_close(desc[:1], alone, atol=1e-5, rtol=1e-4)
    assert (unmasked[0] - alone[0]).abs().max() > 1e-3
    torch.testing.assert_close(desc[1:], unmasked[1:])


def test_multiscale_descriptor_is_cirtorchs():
    model = build(tiny_retriever_cfg()).eval()
    model.neck.p.data.fill_(2.5)
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        out = model.predict(x)[0].descriptor
        p = 2.5
        expected = sum(
            model.extract_descriptors(
                x if s == 1 else F.interpolate(
                    x, scale_factor=s, mode='bilinear',
                    align_corners=False)).pow(p)
            for s in (1, 2**-0.5, 0.5)) / 3
        expected = F.normalize(expected.pow(1 / p), dim=1)[0]
    torch.testing.assert_close(out, expected)
    single = build(tiny_retriever_cfg(test_scales=(1.0, )))
    single.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(
            single.eval().predict(x)[0].descriptor,
            model.extract_descriptors(x)[0])


def test_loss_mode_uses_the_tuples():
    model = build(tiny_retriever_cfg())
    x = torch.randn(4, 3, SIZE, SIZE)
    data_samples = samples([['query', 'positive'], ['query', 'positive']])
    losses = model(x, data_samples, mode='loss')
    with torch.no_grad():
        desc = model.extract_descriptors(x, data_samples)
    assert losses['loss_contrastive'].item() == pytest.approx(
        cirtorch_loss(desc, [['query', 'positive']] * 2, 0.85), rel=1e-4)
    with pytest.raises(KeyError, match="no 'tuple_index'"):
        model(x, [DataSample() for _ in range(4)], mode='loss')


# ------------------------------------------------------------------ SMM
def tiny_smm(**kwargs):
    return dict(type='mmsimmm.SimMinMax', task_model=tiny_retriever_cfg(),
                night_exposure=dict(type='mmsimmm.NightExposureSampler',
                                    exposure_range=(0.0, 0.2),
                                    patch_size=32),
                task_loss_scale=1.0, **kwargs)


def tuple_batch(num_tuples=2, negatives=2, seed=0):
    rng = np.random.default_rng(seed)
    roles = ['query', 'positive'] + ['negative'] * negatives
    inputs, data_samples = [], []
    for t in range(num_tuples):
        for r in roles:
            inputs.append(torch.from_numpy(
                rng.integers(0, 256, (3, SIZE, SIZE), dtype=np.uint8)))
            data_samples.append(DataSample(metainfo=dict(
                tuple_index=t, tuple_role=r, img_shape=(SIZE, SIZE))))
    return dict(inputs=inputs, data_samples=data_samples)


def test_adapter_is_selected_for_the_retriever_and_taps_layer4():
    model = build(tiny_smm())
    assert type(model.task_adapter) is MMRetrievalTaskAdapter
    assert model.task_adapter.darken_taps == ['backbone.layer4']
    assert isinstance(model.task_model, GeMRetriever)


def test_images_to_darken_are_the_queries():
    adapter = MMRetrievalTaskAdapter()
    inputs = torch.arange(8.).reshape(8, 1, 1, 1)
    data_samples = tuple_batch()['data_samples']
    torch.testing.assert_close(adapter.images_to_darken(inputs, data_samples),
                               inputs[[0, 4]])
    with pytest.raises(ValueError, match="no sample with tuple_role 'query'"):
        adapter.images_to_darken(inputs[:1], data_samples[1:2])


def test_dark_query_is_an_extra_positive_of_its_tuple():
    model = build(tiny_smm())
    adapter = model.task_adapter
    data = model.data_preprocessor(tuple_batch(), True)
    inputs, data_samples = data['inputs'], data['data_samples']
    dark = (inputs[[0, 4]] * 0.3).requires_grad_()
    seen = {}
    task_loss = adapter.task_loss

    def recording(task_model, x, samples_):
        seen['inputs'], seen['samples'] = x, samples_
        return task_loss(task_model, x, samples_)

    adapter.task_loss = recording
    with_dark = adapter.adapt_task_loss(model.task_model, inputs, dark,
                                        data_samples)['loss_contrastive']
    extra = seen['samples'][8:]
    assert [(s.tuple_index, s.tuple_role) for s in extra] == [
        (0, 'positive'), (1, 'positive')]
    assert all(s.darkened for s in extra)
    torch.testing.assert_close(seen['inputs'][8:], dark)
    # the value: each tuple's loss plus d(q, D(q))^2 / 2
    with torch.no_grad():
        desc = model.task_model.extract_descriptors(seen['inputs'],
                                                    seen['samples'])
    order = [0, 1, 2, 3, 8, 4, 5, 6, 7, 9]
    expected = cirtorch_loss(
        desc[order], [['query', 'positive', 'negative', 'negative',
                       'positive']] * 2, 0.85)
    assert with_dark.item() == pytest.approx(expected, rel=1e-4)
    without = task_loss(model.task_model, inputs, data_samples)
    assert abs(with_dark.item() - without['loss_contrastive'].item()) > 1e-4
    # the darkened query receives gradient: it is in the loss
    with_dark.backward()
    assert dark.grad.abs().sum() > 0


def test_train_steps_of_both_stages(message_hub):
    model = build(tiny_smm())
    model.train()
    optim = build_optim(model)
    batch = tuple_batch()
    message_hub.update_info('smm_phase', 'darken')
    before = snapshot(model)
    log_vars = model.train_step(copy.deepcopy(batch), optim)
    assert 'darken.loss_sim' in log_vars
    moved = changed(before, model)
    assert any(k.startswith('darkener.') for k in moved)
    assert not any(k.startswith('task_model.') for k in moved)
    message_hub.update_info('smm_phase', 'adapt')
    before = snapshot(model)
    log_vars = model.train_step(copy.deepcopy(batch), optim)
    assert 'adapt.loss_contrastive' in log_vars
    assert not any('byol' in k for k in log_vars)
    moved = changed(before, model)
    assert any(k.startswith('task_model.backbone') for k in moved)
    assert not any(k.startswith('darkener.') for k in moved)
