"""Clear failures: a NaN/Inf loss stops training naming the term and the
iteration (the last checkpoint stays good); truncated checkpoints for
load_from / --resume and broken image / label files give one line naming
the file; grayscale and 16-bit images are read correctly."""
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mmsimmm.compat import safe_load_checkpoint
from mmsimmm.datasets.transforms import (CheckedLoadAnnotations,
                                         CheckedLoadImageFromFile)
from mmsimmm.engine.hooks.finite_loss_hook import (FiniteLossHook,
                                                   first_non_finite)
from mmsimmm.errors import (CheckpointError, DataFileError,
                            NonFiniteLossError)
from data_trees import make_cityscapes
from test_train_loop import smm_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(root / 'cityscapes'), num_train=2, num_val=0)
    return root


def tiny_cfg(data_root, work_dir, darken_iters=4, adapt_iters=2):
    cfg = smm_config(data_root, work_dir, darken_iters, adapt_iters)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval')
    return cfg


# ------------------------------------------------------------ NaN / Inf
def test_first_non_finite_names_the_term_before_the_sum():
    outputs = dict(loss=torch.tensor(float('nan')),
                   **{'adapt.loss_ce': torch.tensor(1.0),
                      'adapt.loss_byol': torch.tensor([0.5, float('inf')])})
    assert first_non_finite(outputs) == ('adapt.loss_byol', float('inf'))
    assert first_non_finite(dict(loss=torch.tensor(float('nan')))) == (
        'loss', pytest.approx(float('nan'), nan_ok=True))
    assert first_non_finite(dict(loss=torch.tensor(2.0), acc=0.5)) is None
    assert FiniteLossHook.priority == 'HIGHEST'


def test_nan_loss_stops_naming_term_and_iteration(data_root, tmp_path):
    cfg = tiny_cfg(data_root, tmp_path)
    cfg.experiment_name = 'nan_run'
    runner = Runner.from_cfg(cfg)
    tv_loss = runner.model.darken_losses['tv']
    real_forward = tv_loss.forward

    def nan_from_third_iteration(alpha):
        loss = real_forward(alpha)
        if runner.message_hub.get_info('iter') >= 2:
            return loss * float('nan')
        return loss

    tv_loss.forward = nan_from_third_iteration
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    last_good = osp.join(tmp_path, 'iter_2.pth')
    assert message == (f"'darken.loss_tv' is nan at iteration 3: training "
                       'stopped before saving this iteration; the last '
                       f'good checkpoint is {last_good}')
    assert not osp.exists(osp.join(tmp_path, 'iter_4.pth'))
    saved = safe_load_checkpoint(last_good)
    assert saved['meta']['iter'] == 2
    assert all(torch.isfinite(v).all() for v in saved['state_dict'].values()
               if v.is_floating_point())
    # the darkener the run broke in memory is not the one on disk
    assert not all(torch.isfinite(p).all()
                   for p in runner.model.darkener.parameters())


# --------------------------------------------------- truncated checkpoints
@pytest.fixture(scope='module')
def truncated_checkpoint(data_root, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('cut')
    cfg = tiny_cfg(data_root, work_dir, darken_iters=2, adapt_iters=1)
    cfg.experiment_name = 'to_cut'
    Runner.from_cfg(cfg).train()
    path = osp.join(work_dir, 'iter_2.pth')
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) * 2 // 3])
    return path


@pytest.mark.parametrize('resume', [False, True], ids=['load_from', 'resume'])
def test_truncated_checkpoint_is_named(data_root, tmp_path,
                                       truncated_checkpoint, resume):
    cfg = tiny_cfg(data_root, tmp_path, darken_iters=2, adapt_iters=2)
    cfg.experiment_name = f'truncated_{resume}'
    cfg.load_from, cfg.resume = truncated_checkpoint, resume
    with pytest.raises(CheckpointError) as error:
        Runner.from_cfg(cfg).train()
    assert '\n' not in str(error.value)
    assert str(error.value).startswith(
        f'{truncated_checkpoint}: not a readable checkpoint (truncated or '
        'corrupt')


def test_train_tool_resume_truncated_is_one_line(data_root, tmp_path,
                                                 truncated_checkpoint):
    cfg = tiny_cfg(data_root, tmp_path)
    config = str(tmp_path / 'tiny.py')
    cfg.dump(config)
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
         '--resume', truncated_checkpoint], capture_output=True, text=True,
        cwd=ROOT)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f'{truncated_checkpoint}: not a readable '
                                'checkpoint (truncated or corrupt')
    assert not any(line.startswith('Traceback') for line in lines)


# ------------------------------------------------------- images and labels
def load(img_path, seg_path=None):
    results = dict(img_path=str(img_path), seg_map_path=str(seg_path),
                   reduce_zero_label=False, seg_fields=[])
    results = CheckedLoadImageFromFile().transform(results)
    if seg_path is not None:
        results = CheckedLoadAnnotations().transform(results)
    return results


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    label = rng.integers(0, 19, (6, 10)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'img.png'), img)
    cv2.imwrite(str(tmp_path / 'img.jpg'), img)
    cv2.imwrite(str(tmp_path / 'label.png'), label)
    return tmp_path, img, label


def test_good_pair_loads_unchanged(pair):
    root, img, label = pair
    results = load(root / 'img.png', root / 'label.png')
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_seg_map'], label)
    assert load(root / 'img.jpg')['img'].shape == (6, 10, 3)


def test_grayscale_and_16bit_images_are_read_as_8bit_color(pair):
    root, img, _ = pair
    gray = img[..., 0]
    cv2.imwrite(str(root / 'gray.png'), gray)
    np.testing.assert_array_equal(load(root / 'gray.png')['img'],
                                  np.stack([gray] * 3, axis=2))
    deep = (img.astype(np.uint16) * 257 + 100)  # 16-bit, low byte set
    cv2.imwrite(str(root / 'deep.png'), deep)
    expected = np.round(deep * (255 / 65535)).astype(np.uint8)
    for color_type in ('color', 'unchanged'):
        results = CheckedLoadImageFromFile(color_type=color_type).transform(
            dict(img_path=str(root / 'deep.png')))
        assert results['img'].dtype == np.uint8
        np.testing.assert_allclose(results['img'], expected, atol=1)


@pytest.mark.parametrize('name,cut', [('img.png', 40), ('img.jpg', 30)])
def test_truncated_image_is_named(pair, name, cut):
    root = pair[0]
    path = root / name
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - cut])
    kind = 'PNG' if name.endswith('png') else 'JPEG'
    with pytest.raises(DataFileError,
                       match=rf'^{path}: truncated {kind} '):
        load(path)


def test_corrupt_image_is_named(pair):
    path = pair[0] / 'noise.png'
    path.write_bytes(b'not an image at all')
    with pytest.raises(DataFileError,
                       match=rf'^{path}: not a readable image'):
        load(path)


def test_label_map_of_wrong_size_is_named(pair):
    root, _, label = pair
    cv2.imwrite(str(root / 'small.png'), label[:, :8])
    with pytest.raises(DataFileError) as error:
        load(root / 'img.png', root / 'small.png')
    assert str(error.value) == (f'{root}/small.png: label map is 8x6 but its '
                                f'image {root}/img.png is 10x6')


def test_label_map_that_is_not_class_ids_is_refused(pair):
    root, img, label = pair
    cv2.imwrite(str(root / 'colour.png'), img)
    with pytest.raises(DataFileError, match='colour.png: label map has 3 '
                       'channels'):
        load(root / 'img.png', root / 'colour.png')
    wide = label.astype(np.uint16) + 300  # mmseg would wrap these to uint8
    cv2.imwrite(str(root / 'wide.png'), wide)
    with pytest.raises(DataFileError,
                       match=r'wide.png: label values 300..318 do not fit'):
        load(root / 'img.png', root / 'wide.png')
    cv2.imwrite(str(root / 'narrow16.png'), label.astype(np.uint16))
    np.testing.assert_array_equal(
        load(root / 'img.png', root / 'narrow16.png')['gt_seg_map'], label)


def test_dataset_with_checked_pipeline_names_the_bad_file(data_root):
    from mmseg.datasets import CityscapesDataset
    bad = osp.join(data_root, 'cityscapes', 'gtFine', 'train', 'aachen',
                   'aachen_000001_000019_gtFine_labelTrainIds.png')
    label = cv2.imread(bad, cv2.IMREAD_UNCHANGED)
    dataset = CityscapesDataset(
        data_root=str(data_root / 'cityscapes'),
        data_prefix=dict(img_path='leftImg8bit/train',
                         seg_map_path='gtFine/train'),
        pipeline=[dict(type='mmsimmm.CheckedLoadImageFromFile'),
                  dict(type='mmsimmm.CheckedLoadAnnotations')])
    assert dataset[1]['gt_seg_map'].shape == label.shape
    try:
        cv2.imwrite(bad, label[:-2])
        with pytest.raises(DataFileError, match=rf'^{bad}: label map is '):
            dataset[1]
    finally:
        cv2.imwrite(bad, label)
