"""benchmarks/cost.py runs end to end (smoke run: rows, not timings) and the
fast paths of the darkener it measures compute what the formula says."""
import json
import os.path as osp
import subprocess
import sys

import torch

from mmsimmm.models.darkeners.curve_darkener import (_apply_curve_autograd,
                                                    _CurveFunction,
                                                    apply_curve)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROWS = [
    'D forward  scale_factor=1:',
    'D forward  scale_factor=2:',
    'D forward  scale_factor=4:',
    'stage-2 SMM step / plain step on 2B:',
    'of which D forward on B',
    'of which EMA target fwd on 2B',
    'of which EMA target fwd, channels-last',
    'stage-1 SMM step / plain F step on B:',
    'test: SimMinMax / task model test_step:',
    'D forward at default scale_factor=',
    'stage-2 step <= 1.4x plain step:',
]


def test_cost_benchmark_quick_run_prints_every_row(tmp_path):
    out = tmp_path / 'cost.json'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'cost.py'), '--quick',
         '--json', str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in ROWS:
        assert row in proc.stdout, f'missing row {row!r}:\n{proc.stdout}'
    goal_lines = [line for line in proc.stdout.splitlines()
                  if line.strip().startswith(('D forward at default',
                                              'stage-2 step <='))]
    assert len(goal_lines) == 2
    assert all(line.rstrip().endswith(('PASS', 'FAIL'))
               for line in goal_lines)
    result = json.loads(out.read_text())
    assert set(result['darkener']) >= {'1', '2', '4'}
    for row in result['darkener'].values():
        assert row['time_s'] > 0 and row['peak_delta_mib'] >= 0
    assert set(result['ratios']) >= {'stage2', 'stage1', 'test'}
    assert all(0 < r['low'] <= r['median'] <= r['high']
               for r in result['ratios'].values())
    assert set(result['goals']) == {'darkener', 'stage2'}


def _curves(shape, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(shape, generator=gen, dtype=dtype)
    alpha = torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1
    beta = 0.95 + 0.05 * torch.rand(shape, generator=gen, dtype=dtype)
    return img, alpha, beta


def test_in_place_curve_is_bit_identical_to_the_formula():
    img, alpha, beta = _curves((2, 3, 9, 11), torch.float32)
    reference = _apply_curve_autograd(img, alpha, beta, 8)
    with torch.no_grad():
        assert torch.equal(apply_curve(img, alpha, beta, 8), reference)
        # broadcast curves (N, 3, 1, 1) and a wider alpha than img
        a, b = alpha[:, :, :1, :1], beta[:, :, :1, :1]
        assert torch.equal(apply_curve(img, a, b), _apply_curve_autograd(
            img, a, b, 8))
        assert torch.equal(apply_curve(img[:1], alpha, beta[:1]),
                           _apply_curve_autograd(img[:1], alpha, beta[:1], 8))
    # inputs are left untouched
    assert torch.equal(img, _curves((2, 3, 9, 11), torch.float32)[0])


def test_fused_curve_backward_matches_autograd():
    img, alpha, beta = _curves((2, 3, 5, 7))
    inputs = [t.clone().requires_grad_() for t in (img, alpha, beta)]
    assert torch.autograd.gradcheck(
        lambda *x: _CurveFunction.apply(*x, 8), inputs)
    # float32: same forward bits, gradients equal to autograd's up to rounding
    img, alpha, beta = _curves((2, 3, 16, 16), torch.float32)
    alpha.requires_grad_()
    beta.requires_grad_()
    fused = apply_curve(img, alpha, beta, 8)
    plain = _apply_curve_autograd(img, alpha, beta, 8)
    assert type(fused.grad_fn).__name__ == '_CurveFunctionBackward'
    assert torch.equal(fused, plain)
    weight = torch.randn_like(fused)
    for got, want in zip(
            torch.autograd.grad((fused * weight).sum(), (alpha, beta)),
            torch.autograd.grad((plain * weight).sum(), (alpha, beta))):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
