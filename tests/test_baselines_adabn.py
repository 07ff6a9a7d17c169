"""AdaBN (issue 14 baseline, uses target data): only BN running statistics
change, and they equal the batch statistics of the target inputs."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import MEAN, STD, seg_batch, tiny_seg_model_cfg
from mmsimmm.engine.hooks import AdaBNHook, reestimate_bn_statistics
from mmsimmm.registry import HOOKS, MODELS


def _model_with_day_statistics():
    torch.manual_seed(0)  # the same weights on every call
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(tiny_seg_model_cfg())
    model.init_weights()
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():  # "day" statistics: anything but the target's
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 1)
            m.num_batches_tracked.fill_(1000)
    # a BN layer the forward pass never reaches keeps its statistics
    model.unused_bn = nn.BatchNorm2d(4)
    model.unused_bn.running_mean.fill_(3.0)
    return model.eval()


def _night_batches():
    batches = [seg_batch(n=2, seed=s) for s in (1, 2)]
    for batch in batches:  # dark, like night images
        batch['inputs'] = [(x // 6) for x in batch['inputs']]
    return batches


def _snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_adabn_changes_only_bn_statistics():
    model = _model_with_day_statistics()
    model.decode_head.train()  # a mixed train/eval state to restore
    flags = {n: m.training for n, m in model.named_modules()}
    momenta = {n: m.momentum for n, m in model.named_modules()
               if isinstance(m, _BatchNorm)}
    before = _snapshot(model)
    assert reestimate_bn_statistics(model, _night_batches()) == 2
    after = model.state_dict()
    bn_names = {n for n, m in model.named_modules()
                if isinstance(m, _BatchNorm) and n != 'unused_bn'}
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    stat_keys = {f'{n}.{s}' for n in bn_names
                 for s in ('running_mean', 'running_var',
                           'num_batches_tracked')}
    assert changed == stat_keys  # every used BN, nothing else
    for name in bn_names:
        assert after[f'{name}.num_batches_tracked'].item() == 2
    assert {n: m.training for n, m in model.named_modules()} == flags
    assert {n: m.momentum for n, m in model.named_modules()
            if isinstance(m, _BatchNorm)} == momenta
    assert model.unused_bn.running_mean.eq(3.0).all()


def test_adabn_statistics_equal_the_target_batch_statistics():
    model = _model_with_day_statistics()
    batches = _night_batches()
    reestimate_bn_statistics(model, batches)
    # independent: the first BN (stem) sees conv1 of the normalised RGB
    conv, bn = model.backbone.stem[0], model.backbone.stem[1]
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    batch_means, batch_vars = [], []
    for batch in batches:
        bgr = torch.stack(batch['inputs']).float()
        rgb = bgr.flip(1)
        with torch.no_grad():
            features = F.conv2d((rgb - mean) / std, conv.weight,
                                stride=conv.stride, padding=conv.padding)
        batch_means.append(features.mean(dim=(0, 2, 3)))
        batch_vars.append(features.var(dim=(0, 2, 3), unbiased=True))
    # cumulative average over the batches (momentum=None)
    torch.testing.assert_close(bn.running_mean,
                               torch.stack(batch_means).mean(0),
                               atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bn.running_var,
                               torch.stack(batch_vars).mean(0),
                               atol=1e-5, rtol=1e-4)


def test_adabn_max_iters_and_errors():
    model = _model_with_day_statistics()
    assert reestimate_bn_statistics(model, _night_batches(), max_iters=1) == 1
    assert model.backbone.stem[1].num_batches_tracked.item() == 1
    with pytest.raises(ValueError, match='yielded no batch'):
        reestimate_bn_statistics(model, [])
    with pytest.raises(ValueError, match='has no BatchNorm'):
        reestimate_bn_statistics(nn.Linear(2, 2), [])
    with pytest.raises(TypeError, match='AdaBNHook: dataloader must be'):
        AdaBNHook(dataloader='night')
    with pytest.raises(ValueError, match='AdaBNHook: max_iters=0'):
        AdaBNHook(dataloader=dict(), max_iters=0)


def test_adabn_hook_runs_before_test():
    model = _model_with_day_statistics()
    batches = _night_batches()
    # batch_size=None: the loader yields the prepared batches as they are
    loader = torch.utils.data.DataLoader(batches, batch_size=None)
    hook = HOOKS.build(dict(type='mmsimmm.AdaBNHook', dataloader=loader))
    expected = _model_with_day_statistics()
    reestimate_bn_statistics(expected, batches)
    hook.before_test(SimpleNamespace(model=model, seed=0))
    for (name, a), b in zip(model.state_dict().items(),
                            expected.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(model.backbone.stem[1].running_mean,
                           _model_with_day_statistics().backbone.stem[1]
                           .running_mean)

    empty = HOOKS.build(dict(type='mmsimmm.AdaBNHook',
                             dataloader=torch.utils.data.DataLoader([])))
    with pytest.raises(FileNotFoundError, match='AdaBNHook: .* no images'):
        empty.before_test(SimpleNamespace(model=model, seed=0))
