"""The SMM lines docs/arid.md gives for an existing mmaction2 config, on top
of mmaction2's own TSN config: built through tools/train.py (adapter picked
from the library, the preprocessor kept inside the recognizer, projector
channels inferred), both phases run on tiny mp4 clips."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from test_action_train_test import make_arid, runner_globals_restored  # noqa
from test_codan_train_test import run_tool

pytest.importorskip('mmaction')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def documented_lines() -> str:
    """The python block under 'SMM on an mmaction2 config you already
    have' in docs/arid.md."""
    text = open(osp.join(ROOT, 'docs', 'arid.md')).read()
    section = text.split('## SMM on an mmaction2 config you already have')[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_documented_lines_train_tsn_in_both_phases(tmp_path, monkeypatch):
    make_arid(tmp_path / 'data' / 'arid', per_class=1, splits=('train', ))
    monkeypatch.chdir(tmp_path)
    config = tmp_path / 'tsn_simmm.py'
    config.write_text(documented_lines())
    cfg = Config.fromfile(str(config))
    assert cfg.model.type == 'mmsimmm.SimMinMax'
    # toy size: no pretrained weights, 32-pixel crops, 2 clips a batch
    cfg.model.task_model.backbone.pretrained = None
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        dataset.ann_file = 'data/arid/day/train.txt'
        dataset.data_prefix = dict(video='data/arid/day/videos')
        cfg[loader].update(batch_size=2, num_workers=0,
                           persistent_workers=False)
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'MultiScaleCrop':
            step.input_size = 32
        elif step.type == 'Resize' and step.scale == (224, 224):
            step.scale = (32, 32)
    cfg.load_from = None
    cfg.train_cfg.update(darken_iters=1, adapt_iters=1, val_interval=10)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.checkpoint.interval = 2
    cfg.log_level = 'WARNING'
    tiny = str(tmp_path / 'tiny.py')
    cfg.dump(tiny)
    run_tool('train.py', tiny)
    saved = torch.load(tmp_path / 'work' / 'iter_2.pth', map_location='cpu')
    assert saved['meta']['iter'] == 2
    state = saved['state_dict']
    # TSN's R50 gives 2048-d pooled features: the inferred projector input
    assert state['projector.branches.0.1.0.weight'].shape == (64, 2048)
    assert any(k.startswith('darkener.') for k in state)
