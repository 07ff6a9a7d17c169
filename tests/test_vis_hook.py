"""DarkenVisualizationHook in a tiny two-phase Runner: what it writes through
the Visualizer (local backend) and that it only reads."""
import glob
import json
import os.path as osp

import cv2
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmsimmm.engine.hooks import DarkenVisualizationHook
from data_trees import make_cityscapes
from test_train_loop import smm_config

SIZE = (64, 128)  # the preprocessor's size in smm_config


@pytest.fixture(scope='module', autouse=True)
def runner_globals_restored():
    """Remove the MessageHub / DefaultScope instances the Runner makes
    here (later unit tests read the newest as the current one)."""
    before = {cls: set(cls._instance_dict)
              for cls in (MessageHub, DefaultScope)}
    yield
    for cls, names in before.items():
        for name in set(cls._instance_dict) - names:
            del cls._instance_dict[name]


class StepOutputs(Hook):
    priority = 'VERY_LOW'

    def __init__(self):
        self.outputs = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.outputs[runner.iter + 1] = {
            k: float(v) for k, v in outputs.items()}


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    data_root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(data_root / 'cityscapes'))
    work_dir = tmp_path_factory.mktemp('work')
    cfg = smm_config(data_root, work_dir, darken_iters=2, adapt_iters=3)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg.val_interval = 100
    cfg.visualizer = dict(type='Visualizer',
                          vis_backends=[dict(type='LocalVisBackend')])
    cfg.custom_hooks.append(
        dict(type='mmsimmm.DarkenVisualizationHook', interval=3,
             num_images=2))
    runner = Runner.from_cfg(cfg)
    recorder = StepOutputs()
    runner.register_hook(recorder)
    runner.train()
    vis_dir = glob.glob(osp.join(str(work_dir), '*', 'vis_data'))[0]
    scalars = {}
    for line in open(osp.join(vis_dir, 'scalars.json')):
        record = json.loads(line)
        if 'smm/dark_mean' in record:
            scalars[record['step']] = record
    return dict(runner=runner, vis_dir=vis_dir, scalars=scalars,
                outputs=recorder.outputs)


def test_logs_at_the_interval_and_at_each_stage_end(run):
    # steps 2 (end of stage 1), 3 (interval), 5 (end of stage 2)
    assert sorted(run['scalars']) == [2, 3, 5]
    assert [run['scalars'][s]['smm/stage'] for s in (2, 3, 5)] == [1, 2, 2]
    images = sorted(osp.basename(p) for p in glob.glob(
        osp.join(run['vis_dir'], 'vis_image', '*.png')))
    assert images == ['smm_pairs_adapt_3.png', 'smm_pairs_adapt_5.png',
                      'smm_pairs_darken_2.png']
    grid = cv2.imread(osp.join(run['vis_dir'], 'vis_image',
                               'smm_pairs_darken_2.png'))
    # title band, then per pair a caption band and day | dark (2 x 128
    # pixels enlarged x2 so that a caption fits)
    assert grid.shape == (16 + 2 * (16 + 2 * SIZE[0]), 4 * SIZE[1], 3)


def test_stage1_values_are_those_of_the_step(run):
    """With all images of the batch shown, the hook's darkened mean and
    feature similarity are the step's own logged values (same D, same
    exposures, same F), computed by another code path."""
    logged, step = run['scalars'][2], run['outputs'][2]
    assert logged['smm/dark_mean'] == pytest.approx(
        step['darken.dark_mean'], abs=1e-5)
    assert logged['smm/feature_similarity'] == pytest.approx(
        step['darken.similarity'], abs=1e-5)
    layers = [logged[f'smm/feature_similarity_backbone{i}']
              for i in range(4)]
    assert logged['smm/feature_similarity'] == pytest.approx(
        sum(layers) / 4)
    assert 0 <= logged['smm/requested_exposure'] <= 0.5
    assert logged['smm/exposure_gap'] == pytest.approx(
        logged['smm/dark_mean'] - logged['smm/requested_exposure'])


def test_stage2_values(run):
    for step in (3, 5):
        logged = run['scalars'][step]
        assert 0 <= logged['smm/requested_exposure'] <= 0.25
        assert 0 < logged['smm/dark_mean'] < 1
        assert -1 <= logged['smm/feature_similarity'] <= 1


def test_measure_only_reads(run):
    """No weight or BN statistic changes, the train mode stays, the global
    RNG is not drawn."""
    runner = run['runner']
    model = runner.model
    model.train()
    runner.message_hub.update_info('iter', 7)
    batch = next(iter(runner.train_dataloader))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    hook = DarkenVisualizationHook(num_images=1)
    values, grid = hook.measure(model, batch, 'adapt')
    assert torch.equal(rng, torch.get_rng_state())
    assert model.training and model.task_model.training
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert grid.shape == (16 + 16 + 2 * SIZE[0], 4 * SIZE[1], 3)
    # the same iteration gives the same view (per-iteration generator)
    again, _ = hook.measure(model, batch, 'adapt')
    assert again['dark_mean'] == values['dark_mean']


def test_needs_an_smm_model_and_valid_arguments():
    with pytest.raises(ValueError, match='interval and num_images'):
        DarkenVisualizationHook(interval=0)

    class FakeRunner:
        model = torch.nn.Linear(1, 1)

    with pytest.raises(TypeError, match='needs an mmsimmm.SimMinMax'):
        DarkenVisualizationHook().before_train(FakeRunner())


def test_video_model_frames_and_one_map_per_clip():
    """mmaction2 I3D: the hook darkens the frames of the first samples with
    the step's per-frame stage-1 exposures (values equal the step's own
    logs) and, in stage 2, one E' map per clip."""
    pytest.importorskip('mmaction')
    from mmsimmm.registry import MODELS
    from test_action_adapter import smm_cfg, tiny_i3d, video_batch
    from test_sim_min_max import build_optim
    hub = MessageHub.get_instance('vis-hook-video-test')  # current hub
    hub.update_info('iter', 5)
    torch.manual_seed(0)
    model = MODELS.build(smm_cfg(tiny_i3d()))
    model.init_weights()
    model.train()
    batch = video_batch(n=2, frames=4)
    hook = DarkenVisualizationHook(num_images=2)
    hub.update_info('smm_phase', 'darken')
    values, grid = hook.measure(model, batch, 'darken')
    log_vars = model.train_step(batch, build_optim(model))
    assert values['dark_mean'] == pytest.approx(
        log_vars['darken.dark_mean'].item(), abs=1e-5)
    assert values['feature_similarity'] == pytest.approx(
        log_vars['darken.similarity'].item(), abs=1e-5)
    # one row per sample: its first frame (32 x 32, enlarged x5)
    assert grid.shape == (16 + 2 * (16 + 5 * 32), 5 * 64, 3)

    recorded = []
    sampler = model.night_exposure

    def recording(*args, **kwargs):
        recorded.append(sampler(*args, **kwargs))
        return recorded[-1]

    model.night_exposure = recording
    try:
        values, _ = hook.measure(model, batch, 'adapt')
    finally:
        model.night_exposure = sampler
    # 2 clips: 2 maps for the 8 frames; the requested exposure is their mean
    assert recorded[0].shape[0] == 2
    assert values['requested_exposure'] == pytest.approx(
        recorded[0].mean().item(), abs=1e-6)
