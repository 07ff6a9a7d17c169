"""The shipped Tokyo 24/7 configs end to end on tiny trees in cirtorch's
layouts, through the real tools: tools/train.py trains the day-only GeM
baseline (tuples re-mined by the hook) and SMM's two stages from its
checkpoint, tools/test.py reports mAP / Recall@k for all, day and night
queries, tools/export_task_model.py gives a plain retriever checkpoint."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tool_runs import (ROOT, assert_stages_move_their_own_parts, run_tool,
                       state)
from tool_runs import runner_globals_restored  # noqa: F401 (autouse)
from mmsimmm.datasets import SfM120kTupleDataset
from vpr_trees import make_sfm120k, make_tokyo247

TOY = dict(query_size=4, pool_size=18, num_negatives=2, batch_size=2,
           num_workers=0, persistent_workers=False)
SCALES = {362: 48, 1024: 64}  # image sizes of the paper -> toy sizes


def _shrink(node, data_root):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TOY:
                node[key] = TOY[key]
            elif key == 'data_root':
                node[key] = data_root
            elif key in ('scale', 'crop_size') and value in SCALES:
                node[key] = SCALES[value] if key == 'scale' else 40
            else:
                _shrink(value, data_root)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _shrink(item, data_root)


def tiny(config, data_root, work_dir):
    """A shipped config on the tiny trees with a narrow ResNet-18."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    _shrink(cfg._cfg_dict, data_root)
    task = cfg.model.get('task_model', cfg.model)
    task.backbone.update(depth=18, base_channels=8, init_cfg=None)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tokyo247')
    data_root = str(tmp / 'retrieval')
    make_sfm120k(data_root)
    make_tokyo247(data_root)
    baseline = tiny('tokyo247_gem_baseline.py', data_root,
                    str(tmp / 'baseline'))
    baseline.train_cfg.max_iters = 4
    baseline.param_scheduler[0].update(end=4, milestones=[2])
    baseline.custom_hooks[-1].interval = 2
    baseline.default_hooks.checkpoint.interval = 4
    baseline_file = str(tmp / 'baseline.py')
    baseline.dump(baseline_file)
    rounds = dict(baseline=[], smm=[])
    mine = SfM120kTupleDataset.mine

    def recording_mine(run):
        def wrapped(self, describe, round_index=None):
            rounds[run].append(round_index)
            return mine(self, describe, round_index)
        return wrapped

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SfM120kTupleDataset, 'mine', recording_mine('baseline'))
        run_tool('train.py', baseline_file)
    day_checkpoint = str(tmp / 'baseline' / 'iter_4.pth')

    smm = tiny('tokyo247_simmm.py', data_root, str(tmp / 'simmm'))
    smm.load_from = day_checkpoint
    smm.train_cfg.update(darken_iters=2, adapt_iters=2, val_interval=5)
    smm.param_scheduler.darkener[0].update(end=2, milestones=[1])
    smm.param_scheduler.task[0].update(begin=2, end=4)
    smm.custom_hooks[-1].interval = 1
    smm.default_hooks.checkpoint.interval = 2
    smm_file = str(tmp / 'simmm.py')
    smm.dump(smm_file)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SfM120kTupleDataset, 'mine', recording_mine('smm'))
        run_tool('train.py', smm_file)
    return dict(tmp=tmp, rounds=rounds, baseline_file=baseline_file, smm_file=smm_file,
                day_checkpoint=day_checkpoint,
                stage1=str(tmp / 'simmm' / 'iter_2.pth'),
                final=str(tmp / 'simmm' / 'iter_4.pth'))


def test_tuples_are_mined_before_training_and_every_round(trained):
    # baseline: 4 iterations, a round every 2; SMM: 2 darken iterations
    # (no mining: F does not change), then a round after every adapt step
    # but the last
    assert trained['rounds'] == dict(baseline=[0, 1], smm=[0, 1])


def test_two_stages_move_their_own_parts(trained):
    assert_stages_move_their_own_parts(
        trained, lambda key: 'backbone' in key and 'weight' in key and
        'bn' not in key)


EXPECTED_KEYS = {f'tokyo247/{group}{m}' for group in ('', 'day/',
                                                      'sunset/', 'night/')
                 for m in ('mAP', 'R@1', 'R@5', 'R@10')}


def test_tools_test_reports_day_and_night(trained):
    metrics = run_tool('test.py', trained['smm_file'], trained['final'])
    assert set(metrics) == EXPECTED_KEYS
    assert all(0 <= v <= 100 for v in metrics.values())


def test_export_gives_a_plain_retriever_checkpoint(trained):
    out = str(trained['tmp'] / 'plain.pth')
    run_tool('export_task_model.py', trained['final'], out)
    exported = torch.load(out, map_location='cpu')['state_dict']
    final = state(trained['final'])
    for key, value in exported.items():
        torch.testing.assert_close(value, final[f'task_model.{key}'])
    # the baseline config tests it as its own checkpoint
    metrics = run_tool('test.py', trained['baseline_file'], out)
    assert set(metrics) == EXPECTED_KEYS


def test_train_stops_in_one_line_on_a_missing_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = osp.join(ROOT, 'configs', 'tokyo247_simmm.py')
    with pytest.raises(SystemExit, match='train_dataloader: data path not '
                       'found: data/retrieval/train/retrieval-SfM-120k/ims '):
        run_tool('train.py', config)
    make_sfm120k(str(tmp_path / 'data' / 'retrieval'))
    with pytest.raises(SystemExit, match='load_from: checkpoint not found: '
                       'work_dirs/tokyo247_gem_baseline/iter_40000.pth'):
        run_tool('train.py', config)
