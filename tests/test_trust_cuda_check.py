"""benchmarks/cuda_check.py compares the darkener's device and CPU forwards
in full fp32: TF32 (on by default for convolutions on Ampere+ GPUs) off
inside the comparison, the user's settings restored after, and the check's
line says so."""
import importlib.util
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def cuda_check():
    spec = importlib.util.spec_from_file_location(
        'mmsimmm_cuda_check', osp.join(ROOT, 'benchmarks', 'cuda_check.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def precision_settings(cuda_check):
    return [getattr(owner, name)
            for owner, name, _ in cuda_check._precision_flags()]


def test_tf32_off_inside_and_restored_after(cuda_check):
    flags = cuda_check._precision_flags()
    off = [value for _, _, value in flags]
    assert off in (['ieee', 'ieee'], [False, False])
    before = precision_settings(cuda_check)
    # TF32 on for both (as on an Ampere+ GPU by default for convolutions)
    on = ['tf32', 'tf32'] if off[0] == 'ieee' else [True, True]
    for (owner, name, _), value in zip(flags, on):
        setattr(owner, name, value)
    try:
        with cuda_check.tf32_off() as said:
            assert precision_settings(cuda_check) == off
            assert said.startswith('TF32 off')
        assert precision_settings(cuda_check) == on
        with pytest.raises(ValueError):  # restored on errors too
            with cuda_check.tf32_off():
                raise ValueError('check failed')
        assert precision_settings(cuda_check) == on
    finally:
        for (owner, name, _), value in zip(flags, before):
            setattr(owner, name, value)


def test_darkener_check_runs_with_tf32_off_and_says_so(cuda_check,
                                                      monkeypatch):
    seen = []
    real = cuda_check._darkener_matches

    def spy(device):
        seen.append(precision_settings(cuda_check))
        return real(device)

    monkeypatch.setattr(cuda_check, '_darkener_matches', spy)
    cuda_check.RESULTS.clear()
    assert cuda_check.darkener_matches(torch.device('cpu'))
    off = [value for _, _, value in cuda_check._precision_flags()]
    assert seen == [off]
    detail = cuda_check.RESULTS[-1]['detail']
    assert detail.startswith('TF32 off') and 'fwd err' in detail
