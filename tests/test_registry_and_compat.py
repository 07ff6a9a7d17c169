import importlib.util
import os.path as osp

import pytest
import torch

import mmsimmm
from mmsimmm import compat
from mmsimmm.registry import (LOOPS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                              TASK_ADAPTERS)
from mmsimmm.utils import version_check


@pytest.mark.parametrize('cfg', [
    dict(type='mmsimmm.CurveDarkener'),
    dict(type='mmsimmm.LooseTVLoss'),
    dict(type='mmsimmm.ColorConsistencyLoss'),
    dict(type='mmsimmm.ExposureLoss'),
    dict(type='mmsimmm.FlexibilityLoss'),
    dict(type='mmsimmm.FeatureSimilarityLoss'),
    dict(type='mmsimmm.BYOLLoss'),
    dict(type='mmsimmm.BYOLProjector', in_channels=8),
    dict(type='mmsimmm.BYOLPredictor'),
    dict(type='mmsimmm.NightExposureSampler'),
], ids=lambda c: c['type'])
def test_every_component_builds_from_its_registered_name(cfg):
    assert MODELS.build(cfg) is not None
    assert MODELS.scope == 'mmsimmm'


def test_engine_names_resolve():
    for name in ('TwoPhaseTrainLoop', 'MultiDatasetValLoop',
                 'MultiDatasetTestLoop'):
        assert LOOPS.get(f'mmsimmm.{name}') is not None
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'mmsimmm.SimMinMaxOptimWrapperConstructor') is not None
    assert TASK_ADAPTERS.build(dict(type='MMSegTaskAdapter')).darken_taps \
        == ['backbone']


def test_loss_weights_default_to_the_reference():
    weights = {
        'LooseTVLoss': 1600.0,
        'ColorConsistencyLoss': 25.0,
        'ExposureLoss': 10.0,
        'FlexibilityLoss': 1.0,
        'FeatureSimilarityLoss': 0.1,
        'BYOLLoss': 0.1
    }
    for name, weight in weights.items():
        assert MODELS.build(dict(type=f'mmsimmm.{name}')).loss_weight == \
            weight


def test_mmaction_imports_without_editing_installed_files():
    import mmaction.models  # noqa: F401  (fails without the drn fix)
    spec = importlib.util.find_spec('mmaction')
    init = osp.join(spec.submodule_search_locations[0], 'models',
                    'localizers', '__init__.py')
    with open(init) as f:
        assert 'from .drn.drn import DRN\n' in f.read()  # untouched
    assert compat.stub_mmaction_drn() is False  # idempotent


def test_import_keeps_torch_weights_only_loading(tmp_path):
    import os
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(message_hub=HistoryBuffer()), path)
    with pytest.raises(compat.CheckpointError, match='convert_checkpoint'):
        _load_checkpoint(str(path), map_location='cpu')


def test_version_check_says_what_is_wrong(monkeypatch):
    real = version_check.metadata.version
    monkeypatch.setattr(
        version_check.metadata, 'version',
        lambda pkg: '2.1.0' if pkg == 'numpy' else real(pkg))
    with pytest.raises(ImportError,
                       match=r'1.20.0 <= numpy < 2.0.0 .*found 2.1.0'):
        version_check.check_versions()
    assert mmsimmm.__version__
    # the escape hatch warns instead, naming the same problem
    monkeypatch.setenv(version_check.SKIP_ENV, '1')
    with pytest.warns(UserWarning, match=r'numpy < 2.0.0 .*found 2.1.0'):
        version_check.check_versions()
