"""Tools run on CPU and CUDA alike: inputs follow the model's device and
tensors are copied to the host (``.cpu()``) before ``.numpy()``.

The runtime tests move the models to a *fake* CUDA device (PyTorch's
``FakeTensorMode``: shapes, dtypes and devices without data or a GPU). It
checks devices as CUDA does: a CPU input into a model on ``cuda`` fails with
"Expected all tensors to be on the same device", and ``.numpy()`` of a
tensor on ``cuda`` fails as on a real GPU (host tensors give zeros).
"""
import ast
import glob
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

from conftest import tiny_smm_cfg

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOURCES = sorted(
    p for folder in ('tools', 'benchmarks', 'mmsimmm')
    for p in glob.glob(osp.join(ROOT, folder, '**', '*.py'), recursive=True))


HOST_MARK = '# host tensor'


def numpy_calls_without_cpu(source: str):
    """Line numbers of ``<chain>.numpy()`` calls whose receiver chain has no
    ``.cpu()`` call (``x.detach().cpu().numpy()`` passes, ``x.numpy()`` and
    ``x.permute(1, 2, 0)[0].numpy()`` do not). A tensor made on the host
    by construction (e.g. ``torch.from_numpy`` in a data transform) may
    say so with a ``# host tensor`` comment on that line instead."""
    source_lines = source.splitlines()
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == 'numpy'):
            continue
        receiver, has_cpu = node.func.value, False
        while isinstance(receiver, (ast.Call, ast.Attribute, ast.Subscript,
                                    ast.BinOp)):
            if isinstance(receiver, ast.Call):
                func = receiver.func
                if isinstance(func, ast.Attribute) and func.attr == 'cpu':
                    has_cpu = True
                    break
                receiver = func
            elif isinstance(receiver, ast.BinOp):  # (a * b).numpy()
                receiver = receiver.left
            else:
                receiver = receiver.value
        if not has_cpu and HOST_MARK not in source_lines[node.lineno - 1]:
            lines.append(node.lineno)
    return lines


def test_static_check_tells_host_copies_apart():
    assert numpy_calls_without_cpu('a = x.numpy()') == [1]
    assert numpy_calls_without_cpu('a = x.permute(1, 2, 0)[0].numpy()') == [1]
    assert numpy_calls_without_cpu('a = x.detach().cpu().numpy()') == []
    assert numpy_calls_without_cpu('a = x.cpu().permute(1, 0)[0].numpy()') \
        == []
    assert numpy_calls_without_cpu('a = (x.cpu() * 2).numpy()') == []
    assert numpy_calls_without_cpu('a = x.numpy()  # host tensor: from_numpy'
                                   ) == []


@pytest.mark.parametrize('path', SOURCES,
                         ids=lambda p: osp.relpath(p, ROOT))
def test_every_numpy_call_copies_to_the_host_first(path):
    with open(path) as f:
        lines = numpy_calls_without_cpu(f.read())
    assert not lines, (f'{osp.relpath(path, ROOT)}: .numpy() without .cpu() '
                       f'at line(s) {lines}')


# ------------------------------------------------------------------ runtime
def load_demo():
    spec = importlib.util.spec_from_file_location(
        'mmsimmm_demo_tool', osp.join(ROOT, 'tools', 'demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def demo():
    return load_demo()


@pytest.fixture
def fake_cuda(monkeypatch):
    """A context in which ``.to('cuda')`` works without a GPU (fake tensors)
    and ``.numpy()`` behaves as with CUDA: refused on the device, zeros of
    the right shape and dtype on the host."""
    from torch._subclasses.fake_tensor import (FakeTensor, FakeTensorMode,
                                               unset_fake_temporarily)
    real_numpy = torch.Tensor.numpy

    def numpy(self, *args, **kwargs):
        if not isinstance(self, FakeTensor):
            return real_numpy(self, *args, **kwargs)
        if self.device.type != 'cpu':
            raise TypeError(f"can't convert {self.device} device type tensor "
                            'to numpy. Use Tensor.cpu() to copy the tensor '
                            'to host memory first.')
        with unset_fake_temporarily():
            return real_numpy(torch.zeros(tuple(self.shape),
                                          dtype=self.dtype))

    monkeypatch.setattr(torch.Tensor, 'numpy', numpy)
    return lambda: FakeTensorMode(allow_non_fake_inputs=True)


def tiny_models():
    from mmsimmm.registry import MODELS
    smm = MODELS.build(tiny_smm_cfg())
    smm.init_weights()
    baseline = MODELS.build(tiny_smm_cfg().task_model)
    return smm.eval(), baseline.eval()


def seg_sample(h=32, w=64, seed=0):
    from conftest import seg_batch
    batch = seg_batch(n=1, h=h, w=w, seed=seed)
    return dict(inputs=batch['inputs'][0],
                data_samples=batch['data_samples'][0])


def test_fake_cuda_checks_devices_like_cuda(fake_cuda):
    """The premise of the runtime tests: a CPU input into a model on the
    fake CUDA device fails as on a GPU, and so does .numpy() there."""
    conv = torch.nn.Conv2d(3, 4, 3)
    with fake_cuda():
        conv.to('cuda')
        assert conv.weight.device.type == 'cuda'
        with pytest.raises(RuntimeError, match='same device'):
            conv(torch.zeros(1, 3, 8, 8))
        out = conv(torch.zeros(1, 3, 8, 8).to('cuda'))
        with pytest.raises(TypeError, match='Use Tensor.cpu()'):
            out.numpy()
        assert out.cpu().numpy().shape == (1, 4, 6, 6)


def test_predict_follows_the_model_device(demo, fake_cuda):
    _, baseline = tiny_models()
    sample = seg_sample()
    on_cpu = demo.predict(baseline, sample)
    assert on_cpu.shape == (32, 64) and on_cpu.dtype == np.int64
    assert 0 <= on_cpu.min() and on_cpu.max() < 19
    with fake_cuda():
        baseline.to('cuda')
        on_cuda = demo.predict(baseline, sample)  # a CPU sample
    assert on_cuda.shape == (32, 64) and on_cuda.dtype == np.int64


def test_darkened_view_follows_the_model_device(demo, fake_cuda):
    smm, _ = tiny_models()
    day_bgr = torch.randint(0, 256, (3, 32, 64), dtype=torch.uint8,
                            generator=torch.Generator().manual_seed(1))
    on_cpu = demo.darkened_view(smm, day_bgr, torch.Generator().manual_seed(0))
    assert on_cpu.shape == (32, 64, 3) and on_cpu.dtype == np.uint8
    # D on the RGB image under the sampler's first draw, back to BGR bytes
    rgb = day_bgr.flip(0)[None].float() / 255
    exposure = smm.night_exposure(1, (32, 64),
                                  generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = smm.darkener(rgb, exposure)[0].clamp(0, 1)
    expected = (expected.flip(0).permute(1, 2, 0) * 255).round().byte()
    np.testing.assert_array_equal(on_cpu, expected.numpy())
    with fake_cuda():
        smm.to('cuda')
        on_cuda = demo.darkened_view(smm, day_bgr,
                                     torch.Generator().manual_seed(0))
    assert on_cuda.shape == (32, 64, 3) and on_cuda.dtype == np.uint8


def dataset_like(samples):
    class Samples(list):
        metainfo = dict(palette=[[i * 10, 255 - i * 10, i] for i in
                                 range(19)])
    return Samples(samples)


def test_picture_grid_with_models_on_another_device(demo, fake_cuda,
                                                   tmp_path):
    import cv2
    smm, baseline = tiny_models()
    day = dataset_like([seg_sample(seed=i) for i in range(2)])
    night = dataset_like([seg_sample(seed=10 + i) for i in range(2)])
    path = str(tmp_path / 'grid_cpu.png')
    demo.picture_grid(path, smm, baseline, day, night, [0, 1], seed=0)
    grid = cv2.imread(path)
    assert grid.shape == (24 + 2 * 32, 6 * 64, 3)
    # column 0 is the day image itself (BGR as loaded), column 2 the night
    np.testing.assert_array_equal(
        grid[24:56, :64], day[0]['inputs'].permute(1, 2, 0).numpy())
    np.testing.assert_array_equal(
        grid[56:, 128:192], night[1]['inputs'].permute(1, 2, 0).numpy())
    path = str(tmp_path / 'grid_cuda.png')
    with fake_cuda():
        smm.to('cuda')
        baseline.to('cuda')
        demo.picture_grid(path, smm, baseline, day, night, [0, 1], seed=0)
    assert cv2.imread(path).shape == grid.shape
