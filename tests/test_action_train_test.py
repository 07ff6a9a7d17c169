"""The shipped ARID configs end to end on tiny mp4 clips written in the
documented layout (docs/arid.md), read by mmaction2's VideoDataset + decord:
tools/train.py trains the day I3D baseline (at toy size) and SMM (both
stages) from its checkpoint, tools/test.py reports night top-1/top-5 with
the multi-clip test, tools/export_task_model.py writes a plain mmaction2
checkpoint that loads strictly, and a missing path stops training in one
line."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tool_runs import (ROOT, assert_stages_move_their_own_parts,
                       export_plain_checkpoint, finish_toy_config,
                       run_tool, shrink_config, train_day_then_smm)
from tool_runs import runner_globals_restored  # noqa: F401 (autouse)

pytest.importorskip('mmaction')
cv2 = pytest.importorskip('cv2')

CLASSES = ('Drink', 'Jump', 'Pick')  # the first 3 of ARID's 11
FRAMES, WIDTH, HEIGHT = 8, 64, 48  # decord needs widths in multiples of 32
CROP, SHORT_SIDE, CLIP_LEN = 32, 40, 4


def write_clip(path, label, seed, night=False):
    """An mp4 (mp4v) clip: a square moving in the class's direction over a
    textured background; night clips are dim."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (WIDTH, HEIGHT))
    background = rng.integers(60, 200, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    dx, dy = [(4, 0), (0, 3), (3, 3)][label]
    for t in range(FRAMES):
        frame = background.copy()
        x, y = 8 + dx * t, 8 + dy * t
        frame[y:y + 12, x:x + 12] = (40, 220, 240)
        if night:
            frame = (frame * 0.15).astype(np.uint8)
        writer.write(frame)
    writer.release()


def make_arid(root, per_class=2, splits=('train', 'val', 'test')):
    """The documented layout: day/videos + day/{train,val}.txt and
    night/videos + night/split1_test.txt (``<Class>/<name>.mp4 <label>``)."""
    lists = dict(train='day/train.txt', val='day/val.txt',
                 test='night/split1_test.txt')
    for split in splits:
        part = 'night' if split == 'test' else 'day'
        lines = []
        for label, name in enumerate(CLASSES):
            folder = osp.join(root, part, 'videos', name)
            os.makedirs(folder, exist_ok=True)
            for index in range(per_class):
                clip = f'{name}/{name}_{split}_{index}.mp4'
                write_clip(osp.join(root, part, 'videos', clip), label,
                           seed=hash((split, label, index)) % 1000,
                           night=part == 'night')
                lines.append(f'{clip} {label}')
        with open(osp.join(root, lists[split]), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return str(root)


def _toy_value(node, key, value):
    kind = node.get('type')
    if kind == 'SampleFrames' and key == 'clip_len':
        return CLIP_LEN
    if kind == 'SampleFrames' and key == 'frame_interval':
        return 1
    if kind == 'SampleFrames' and key == 'num_clips' and value > 1:
        return 2
    if key == 'scale' and value == (-1, 256):
        return (-1, SHORT_SIDE)
    if key == 'scale' and value == (224, 224):
        return (CROP, CROP)
    if key in ('input_size', 'crop_size') and value in (224, 256):
        return CROP if value == 224 else SHORT_SIDE
    return None


def shrink(node):
    """The pipelines at toy size: 4-frame clips, 32-pixel crops, 2 clips x
    3 crops at test; no worker processes, batch 2."""
    shrink_config(node, _toy_value, 2)


def tiny_i3d(model):
    """ResNet3d-18 with 8 base channels (64 at the last stage), no
    pretrained weights, temporal strides 1 for 4-frame clips."""
    model.backbone.update(depth=18, base_channels=8, pretrained=None,
                          pretrained2d=False, conv1_stride_t=1,
                          pool1_stride_t=1,
                          inflate=((1, 1), (1, 0), (1, 0), (0, 1)))
    model.cls_head.in_channels = 64


def tiny(config, work_dir):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    shrink(cfg._cfg_dict)
    tiny_i3d(cfg.model.get('task_model', cfg.model))
    return finish_toy_config(cfg, work_dir)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('arid')
    make_arid(tmp / 'data' / 'arid')
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp)  # the configs' relative data/arid paths
        yield train_day_then_smm(
            tmp, tiny('arid_i3d_baseline.py', str(tmp / 'baseline')),
            tiny('arid_simmm.py', str(tmp / 'simmm')))


def test_clips_decode_in_the_documented_layout(tmp_path):
    """The written clips go through the config's own pipeline
    (PackActionInputs: (clips, C, T, H, W)) with their labels."""
    from mmaction.registry import DATASETS
    make_arid(tmp_path / 'data' / 'arid', per_class=1, splits=('train', ))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'arid_simmm.py'))
    shrink(cfg._cfg_dict)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.ann_file = str(tmp_path / dataset_cfg.ann_file)
    dataset_cfg.data_prefix.video = str(tmp_path /
                                        dataset_cfg.data_prefix.video)
    with DefaultScope.overwrite_default_scope('mmaction'):
        dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == len(CLASSES)
    sample = dataset[1]
    assert sample['inputs'].shape == (1, 3, CLIP_LEN, CROP, CROP)
    assert sample['data_samples'].gt_label.item() == 1


def test_two_stages_move_their_own_parts(trained):
    stage1, final = assert_stages_move_their_own_parts(
        trained, lambda key: key.endswith('conv.weight'))
    # the BYOL necks move in stage 2 too
    assert any(not torch.equal(stage1[k], final[k]) for k in final
               if k.startswith('projector.'))


def test_tools_test_reports_night_top1_and_top5(trained):
    metrics = run_tool('test.py', trained['smm_file'], trained['final'])
    assert set(metrics) == {'night/acc/top1', 'night/acc/top5'}
    assert all(0 <= v <= 1 for v in metrics.values())
    assert metrics['night/acc/top5'] >= metrics['night/acc/top1']


def test_export_gives_a_plain_mmaction_checkpoint(trained):
    from mmaction.registry import MODELS
    cfg = Config.fromfile(trained['baseline_file'])
    out = export_plain_checkpoint(trained, MODELS, 'mmaction', cfg.model)
    # mmaction2's own test of the baseline config accepts it
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(trained['tmp'])
        metrics = run_tool('test.py', trained['baseline_file'], out)
    assert set(metrics) == {'night/acc/top1', 'night/acc/top5'}


def test_train_stops_in_one_line_on_a_missing_path(tmp_path, monkeypatch):
    """From a clean clone without data, tools/train.py names the path
    (mmaction2's data_prefix=dict(video=...) + ann_file form)."""
    monkeypatch.chdir(tmp_path)
    config = osp.join(ROOT, 'configs', 'arid_simmm.py')
    with pytest.raises(SystemExit, match='train_dataloader: data path not '
                       'found: data/arid/day/videos '):
        run_tool('train.py', config)
    make_arid(tmp_path / 'data' / 'arid', per_class=1, splits=('train', ))
    with pytest.raises(SystemExit, match='val_dataloader: data path not '
                       'found: data/arid/day/val.txt '):
        run_tool('train.py', config)
    make_arid(tmp_path / 'data' / 'arid', per_class=1,
              splits=('val', 'test'))
    with pytest.raises(SystemExit, match='load_from: checkpoint not found: '
                       'work_dirs/arid_i3d_baseline/epoch_30.pth'):
        run_tool('train.py', config)
