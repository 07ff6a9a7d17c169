"""Checkpoints load with torch's ``weights_only=True``: the package's own
checkpoints (message hub as plain data) resume, a crafted pickle is refused
in one line without running, an older mmengine checkpoint gets a one-line
conversion hint and converts with tools/convert_checkpoint.py --trust."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import Runner

from mmsimmm.compat import harmless_numpy_globals, safe_load_checkpoint
from mmsimmm.engine.hooks import (PlainMessageHubHook, message_hub_from_plain,
                                  message_hub_to_plain)
from mmsimmm.engine.hooks.plain_message_hub_hook import plain_items, to_plain
from mmsimmm.errors import CheckpointError
from data_trees import make_cityscapes
from test_train_loop import smm_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class Exploit:
    """Unpickling this runs a shell command that writes ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def run_tool(*args):
    result = subprocess.run([sys.executable, *args], capture_output=True,
                            text=True, cwd=ROOT)
    return result.returncode, result.stderr.strip().splitlines()


def test_import_does_not_lift_weights_only():
    code = ('import os, mmsimmm; '
            "print(os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'))")
    env = {k: v for k, v in os.environ.items()
           if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    result = subprocess.run([sys.executable, '-c', code], env=env,
                            capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == 'None', result.stderr[-2000:]


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1)},
                    meta=dict(x=Exploit(marker))), path)
    with pytest.raises(CheckpointError) as error:
        safe_load_checkpoint(str(path))
    message = str(error.value)
    assert '\n' not in message
    assert message.startswith(f'{path}: refused to load')
    assert 'posix.system' in message or 'os.system' in message
    # mmengine's own loading path (load_from / --resume / load_checkpoint)
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(CheckpointError, match='refused to load'):
        _load_checkpoint(str(path), map_location='cpu')
    # the export tool reads checkpoints with weights_only too
    code, lines = run_tool(osp.join('tools', 'export_task_model.py'),
                           str(path), str(tmp_path / 'out.pth'))
    assert code != 0 and lines == [message]
    assert not marker.exists()
    assert not (tmp_path / 'out.pth').exists()


def test_truncated_checkpoint_is_one_line(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save(dict(state_dict={'w': torch.arange(1000.)}), path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError,
                       match=rf'^{path}: not a readable checkpoint '
                       r'\(truncated or corrupt: [^\n]*\)$'):
        safe_load_checkpoint(str(path))
    with pytest.raises(CheckpointError, match='checkpoint not found'):
        safe_load_checkpoint(str(tmp_path / 'missing.pth'))


def test_only_numpy_scalars_and_dtypes_are_allow_listed(tmp_path):
    names = {f'{g.__module__}.{g.__name__}' for g in harmless_numpy_globals()}
    assert 'numpy.core.multiarray.scalar' in names
    assert not any('getattr' in n or 'reconstruct' in n for n in names)
    path = tmp_path / 'numpy.pth'
    torch.save(dict(eta=np.float64(2.5), step=np.int64(3),
                    dtype=np.dtype('float32')), path)
    loaded = torch.load(path, weights_only=True)
    assert loaded == dict(eta=2.5, step=3, dtype=np.dtype('float32'))
    torch.save(dict(array=np.zeros(2)), path)  # arrays stay refused
    with pytest.raises(CheckpointError, match='numpy.ndarray'):
        safe_load_checkpoint(str(path))


def test_plain_data_conversion():
    assert to_plain(np.float32(0.5)) == 0.5
    assert type(to_plain(np.int64(4))) is int
    converted = to_plain(dict(a=(np.arange(3), [np.bool_(True)], {1, 2})))
    assert torch.equal(converted['a'][0], torch.arange(3))
    assert converted['a'][1:] == ([True], [1, 2])
    with pytest.warns(UserWarning, match="'hub' is a .*MessageHub"):
        kept = plain_items(dict(n=1, hub=MessageHub('x')), 'meta')
    assert kept == dict(n=1)


def test_message_hub_round_trip(tmp_path):
    hub = MessageHub('plain-round-trip')
    for i in range(3):
        hub.update_scalar('train/loss', 1.5 - i, count=2)
    hub.update_info('iter', 7)
    hub.update_info('eta', np.float64(12.5))
    state = hub.state_dict()
    plain = message_hub_to_plain(state)
    path = tmp_path / 'hub.pth'
    torch.save(plain, path)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    rebuilt = message_hub_from_plain(torch.load(path, weights_only=True))
    restored = MessageHub('plain-round-trip-restored')
    restored.load_state_dict(rebuilt)
    logs, counts = restored.get_scalar('train/loss').data
    np.testing.assert_array_equal(logs, [1.5, 0.5, -0.5])
    np.testing.assert_array_equal(counts, [2, 2, 2])
    assert restored.get_scalar('train/loss').mean() == \
        hub.get_scalar('train/loss').mean()
    assert restored.get_info('iter') == 7
    assert restored.get_info('eta') == 12.5


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    data_root = tmp_path_factory.mktemp('data')
    make_cityscapes(str(data_root / 'cityscapes'), num_train=2, num_val=0)
    work_dir = tmp_path_factory.mktemp('safe_run')
    cfg = smm_config(data_root, work_dir, darken_iters=2, adapt_iters=2)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg.pop('val_interval')
    cfg.experiment_name = 'safe_run'
    runner = Runner.from_cfg(cfg)
    runner.train()
    return dict(cfg=cfg, work_dir=work_dir, runner=runner)


def test_package_checkpoints_resume_with_safe_loading(tiny_run, tmp_path):
    checkpoint = osp.join(tiny_run['work_dir'], 'iter_2.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        checkpoint) == []
    saved = torch.load(checkpoint, weights_only=True)
    assert saved['message_hub']['format'] == 'mmsimmm.plain_message_hub.v1'
    cfg = tiny_run['cfg'].copy()
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'safe_resume'
    cfg.resume, cfg.load_from = True, checkpoint
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    original = tiny_run['runner'].message_hub.get_scalar('train/loss').data
    resumed = runner.message_hub.get_scalar('train/loss').data
    np.testing.assert_allclose(resumed[0][:2], original[0][:2])  # restored
    for key, value in tiny_run['runner'].model.state_dict().items():
        torch.testing.assert_close(runner.model.state_dict()[key], value,
                                   msg=key)


def test_exported_task_model_loads_with_weights_only(tiny_run, tmp_path):
    out = tmp_path / 'task.pth'
    code, lines = run_tool(osp.join('tools', 'export_task_model.py'),
                           osp.join(tiny_run['work_dir'], 'iter_4.pth'),
                           str(out))
    assert code == 0, lines[-5:]
    exported = torch.load(out, weights_only=True)
    assert exported['meta']['exported_from'] == 'mmsimmm.SimMinMax'
    assert 'backbone.stem.0.weight' in exported['state_dict']


def test_mmengine_checkpoint_gets_conversion_line_and_converts(tmp_path):
    hub = MessageHub('old-mmseg-run')
    hub.update_scalar('train/loss', 0.25)
    hub.update_info('iter', 80000)
    path = tmp_path / 'iter_80000.pth'
    weights = {'decode_head.conv_seg.weight': torch.randn(2, 3, 1, 1)}
    torch.save(dict(meta=dict(iter=80000), state_dict=weights,
                    message_hub=hub.state_dict()), path)
    with pytest.raises(CheckpointError) as error:
        safe_load_checkpoint(str(path))
    expected = (f'python tools/convert_checkpoint.py --trust {path} '
                f'{tmp_path}/iter_80000_safe.pth')
    assert str(error.value).endswith(expected)
    assert 'HistoryBuffer' in str(error.value)
    out = tmp_path / 'iter_80000_safe.pth'
    code, lines = run_tool(osp.join('tools', 'convert_checkpoint.py'),
                           str(path), str(out))
    assert code != 0 and '--trust' in lines[-1] and not out.exists()
    code, lines = run_tool(osp.join('tools', 'convert_checkpoint.py'),
                           '--trust', str(path), str(out))
    assert code == 0, lines[-5:]
    converted = safe_load_checkpoint(str(out))
    torch.testing.assert_close(converted['state_dict'], weights)
    checkpoint = dict(converted)
    PlainMessageHubHook().after_load_checkpoint(None, checkpoint)
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.current() == 0.25
    assert checkpoint['message_hub']['runtime_info']['iter'] == 80000
