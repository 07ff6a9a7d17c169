"""tools/darken.py and tools/analysis/feature_similarity.py on a tiny SMM
model: the files they write and their numbers against independent
computations."""
import json
import os
import os.path as osp
import runpy

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsimmm.registry import MODELS
from mmsimmm.visualization import ConstantExposure
from mmsimmm.visualization.loading import load_smm_model
from conftest import MEAN, STD, tiny_smm_cfg
from test_vis_feature_stats import numpy_mmd2

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
H, W = 32, 48


def tool(path):
    return runpy.run_path(osp.join(ROOT, 'tools', path))['main']


def write_images(folder, names, seed):
    rng = np.random.default_rng(seed)
    for name in names:
        path = osp.join(folder, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        # smooth random images: a blurred field, so features are not noise
        img = cv2.GaussianBlur(
            rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (7, 7), 2)
        assert cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 100])
    return str(folder)


@pytest.fixture(scope='module')
def smm(tmp_path_factory):
    """A tiny SMM config (sensor noise + 8-bit views) and two checkpoints
    of it (different random weights)."""
    root = tmp_path_factory.mktemp('smm')
    model_cfg = tiny_smm_cfg(
        dark_noise=dict(type='mmsimmm.LowLightSensorNoise'),
        quantize_dark=True)
    config = str(root / 'tiny_smm.py')
    Config(dict(default_scope='mmseg', model=model_cfg)).dump(config)
    init_default_scope('mmseg')
    checkpoints = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = MODELS.build(model_cfg)
        checkpoints.append(str(root / f'smm_{seed}.pth'))
        torch.save(dict(state_dict=model.state_dict()), checkpoints[-1])
    day = write_images(root / 'day', ['a.png', 'sub/b.png', 'c.jpg'], 0)
    night = write_images(root / 'night', ['a.png', 'sub/b.png', 'c.jpg'], 1)
    return dict(config=config, checkpoints=checkpoints, day=day,
                night=night)


def read(path):
    return torch.from_numpy(cv2.imread(path)[..., ::-1].copy()).permute(
        2, 0, 1).float().div(255)


def test_darken_fixed_exposure_follows_the_darkeners_own_output(
        smm, tmp_path):
    out = str(tmp_path / 'out')
    tool('darken.py')([smm['config'], smm['checkpoints'][0], smm['day'], out,
                       '--exposure', '0.05', '--view', 'curve', '--device',
                       'cpu', '--grid-rows', '2'])
    names = ['a.png', 'c.png', 'sub/b.png']
    for name in names:
        assert osp.isfile(osp.join(out, name)), name
    grid = cv2.imread(osp.join(out, 'darken_grid.png'))
    factor = 4  # 2 x 48 pixels enlarged to at least 320 for the captions
    assert grid.shape == (16 + 2 * (16 + factor * H), factor * 2 * W, 3)
    # first row (below the title and caption bands): a.png | D(a.png)
    def enlarged(path):
        return np.repeat(np.repeat(cv2.imread(path), factor, 0), factor, 1)

    row = grid[32:32 + factor * H]
    assert np.array_equal(row[:, :factor * W],
                          enlarged(osp.join(smm['day'], 'a.png')))
    assert np.abs(row[:, factor * W:].astype(int) - enlarged(
        osp.join(out, 'a.png'))).max() <= 1
    summary = json.load(open(osp.join(out, 'darken_summary.json')))
    assert summary['count'] == 3 and summary['exposure'] == 0.05
    model = load_smm_model(smm['config'], smm['checkpoints'][0])
    for record in summary['images']:
        day = read(osp.join(smm['day'], record['file']))[None]
        with torch.no_grad():
            expected = model.darkener(day, 0.05)
        assert record['requested_exposure'] == pytest.approx(0.05)
        assert record['dark_mean'] == pytest.approx(expected.mean().item(),
                                                     abs=1e-5)
        assert record['day_mean'] == pytest.approx(day.mean().item(),
                                                   abs=1e-6)
        written = read(osp.join(out, osp.splitext(record['file'])[0] +
                                '.png'))
        assert (written - expected[0]).abs().max() <= 0.5 / 255 + 1e-6
    assert summary['mean_dark_mean'] == pytest.approx(
        np.mean([r['dark_mean'] for r in summary['images']]))


def test_darken_stage2_view_is_simmm_darken_view(smm, tmp_path):
    out = str(tmp_path / 'out')
    tool('darken.py')([smm['config'], smm['checkpoints'][1], smm['day'], out,
                       '--seed', '3', '--device', 'cpu'])
    summary = json.load(open(osp.join(out, 'darken_summary.json')))
    model = load_smm_model(smm['config'], smm['checkpoints'][1])
    generator = torch.Generator().manual_seed(3)
    for record in summary['images']:  # the tool's order: sorted paths
        day = read(osp.join(smm['day'], record['file']))[None]
        with torch.no_grad():
            expected = model.darken_view(day, generator)[0]
        written = read(osp.join(out, osp.splitext(record['file'])[0] +
                                '.png'))
        # 8-bit view: the file holds it exactly
        assert torch.equal((written * 255).round(), (expected * 255).round())
        assert record['dark_mean'] == pytest.approx(expected.mean().item(),
                                                    abs=1e-6)
        # stage-2 E' = U(0, 0.2) + zero-mean noises (clamped at 0)
        assert 0 <= record['requested_exposure'] <= 0.25


def test_darken_video(smm, tmp_path):
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             (W, H))
    rng = np.random.default_rng(0)
    for _ in range(4):
        writer.write(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    writer.release()
    out = str(tmp_path / 'out')
    tool('darken.py')([smm['config'], smm['checkpoints'][0], video, out,
                       '--device', 'cpu'])
    capture = cv2.VideoCapture(osp.join(out, 'clip_dark.mp4'))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    summary = json.load(open(osp.join(out, 'darken_summary.json')))
    assert [r['file'] for r in summary['images']] == [
        f'frame_{i:06d}' for i in range(4)]
    # one stage-2 exposure map for all frames of the video
    requested = {r['requested_exposure'] for r in summary['images']}
    assert len(requested) == 1 and 0 <= requested.pop() <= 0.25
    assert cv2.imread(osp.join(out, 'darken_grid.png')).shape[0] == \
        16 + 4 * (16 + 4 * H)


def test_darken_refuses_a_plain_task_checkpoint(smm, tmp_path):
    state = torch.load(smm['checkpoints'][0])['state_dict']
    plain = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict={k[len('task_model.'):]: v
                                for k, v in state.items()
                                if k.startswith('task_model.')}), plain)
    with pytest.raises(SystemExit, match='holds no darkener weights'):
        tool('darken.py')([smm['config'], plain, smm['day'],
                           str(tmp_path / 'out'), '--device', 'cpu'])


def backbone_features(config, checkpoint, folder, names):
    """Stage outputs of the task model, computed without the tool's code
    path: images as mmcv loads them (BGR uint8) through the model's own
    data preprocessor, then the backbone."""
    from mmsimmm.visualization.loading import load_task_model
    model = load_task_model(Config.fromfile(config), config, checkpoint)
    images = [torch.from_numpy(cv2.imread(osp.join(folder, n))).permute(
        2, 0, 1).contiguous() for n in names]
    inputs = model.data_preprocessor(dict(inputs=images), False)['inputs']
    expected = (torch.stack(images).flip(1).float() -
                torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(
                    STD).view(1, 3, 1, 1)
    assert torch.allclose(inputs, expected, atol=1e-5)
    with torch.no_grad():
        return [f.numpy() for f in model.backbone(inputs)]


def test_feature_similarity_of_a_set_with_itself_is_one(smm, tmp_path):
    out = str(tmp_path / 'same')
    tool('analysis/feature_similarity.py')(
        [smm['config'], *smm['checkpoints'], '--names', 'first', 'second',
         '--day', smm['day'], '--night', smm['day'], '--out-dir', out,
         '--device', 'cpu'])
    results = json.load(open(osp.join(out, 'feature_similarity.json')))
    assert set(results['results']) == {'first', 'second'}
    for rows in results['results'].values():
        assert [r['layer'] for r in rows] == [
            f'backbone[{i}]' for i in range(4)]
        for row in rows:
            assert row['cosine_mean'] == pytest.approx(1.0, abs=1e-5)
            assert row['mmd2'] == pytest.approx(0.0, abs=1e-9)
    assert os.path.getsize(osp.join(out, 'feature_tsne.png')) > 0
    assert 'median' in open(osp.join(out, 'feature_similarity.md')).read()


def test_feature_similarity_day_vs_night_against_numpy(smm, tmp_path):
    out = str(tmp_path / 'night')
    tool('analysis/feature_similarity.py')(
        [smm['config'], smm['checkpoints'][0], '--names', 'model', '--day',
         smm['day'], '--night', smm['night'], '--out-dir', out])
    rows = json.load(open(osp.join(
        out, 'feature_similarity.json')))['results']['model']
    names = ['a.png', 'c.jpg', 'sub/b.png']
    day = backbone_features(smm['config'], smm['checkpoints'][0], smm['day'],
                            names)
    night = backbone_features(smm['config'], smm['checkpoints'][0],
                              smm['night'], names)
    for row, d, n in zip(rows, day, night):
        cosine = (d * n).sum(1) / (np.linalg.norm(d, axis=1) *
                                   np.linalg.norm(n, axis=1))
        assert row['cosine_mean'] == pytest.approx(
            cosine.reshape(len(names), -1).mean(1).mean(), abs=1e-5)
        mmd2, sigma = numpy_mmd2(d.mean((2, 3)), n.mean((2, 3)))
        assert row['mmd2'] == pytest.approx(mmd2, rel=1e-4, abs=1e-7)
        assert row['bandwidth'] == pytest.approx(sigma, rel=1e-4)
        assert row['cosine_mean'] < 0.999 and row['mmd2'] > 0


def test_feature_similarity_against_darkened_views(smm, tmp_path):
    out = str(tmp_path / 'dark')
    tool('analysis/feature_similarity.py')(
        [smm['config'], smm['checkpoints'][0], '--against', 'darkened',
         '--day', smm['day'], '--exposure', '0.05', '--out-dir', out])
    results = json.load(open(osp.join(out, 'feature_similarity.json')))
    assert results['other'] == 'darkened'
    assert all(r['cosine_mean'] < 1 for r in results['results'][
        osp.basename(osp.dirname(smm['checkpoints'][0]))])


def test_constant_exposure_rejects_levels_outside_unit_range():
    with pytest.raises(ValueError, match=r'exposure must be in \[0, 1\]'):
        ConstantExposure(1.5)
