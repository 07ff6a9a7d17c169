"""Checks of the CUDA path, for a machine with a GPU (CI has none).

    python benchmarks/cuda_check.py [--work-dir DIR] [--iters 12] [--json OUT]

1. ``CurveDarkener`` on the GPU: forward equal to the CPU forward with the
   same weights within 1e-4, with TF32 off (Ampere+ GPUs run fp32
   convolutions in TF32 by default, 10-bit mantissas: 2.4e-4 on an H200);
   the fused curve backward equal to autograd's; outputs under fp16 / bf16
   autocast finite and close to fp32.
2. Training through mmengine's ``Runner`` on the demo configs (synthetic
   data generated here): fp32, AMP float16 and AMP bfloat16 (the
   ``tools/train.py --amp`` path: every part of the optimiser dict becomes an
   ``AmpOptimWrapper``). Each runs ``iters`` darken + ``iters`` adapt
   iterations and asserts: parameters and buffers on the GPU, every logged
   loss finite, stage 1 moves only D, stage 2 moves F + BYOL necks + EMA
   target and not D; ``runner.test()`` gives finite night / day mIoU.
3. ``tools/export_task_model.py`` on the fp32 checkpoint: the plain mmseg
   model built from the task config and loaded (strict) from the export
   predicts exactly what the SMM model predicts, on the GPU.

One PASS/FAIL line per check; exit status 1 if any failed.
"""
import argparse
import copy
import json
from contextlib import contextmanager
import os.path as osp
import subprocess
import sys
import time
import traceback

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))

import demo  # noqa: E402  (tools/demo.py: warning filters, mmsimmm import)
import torch  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmsimmm.datasets import generate_synthetic_streets  # noqa: E402
from mmsimmm.registry import MODELS  # noqa: E402
from mmsimmm.utils import enable_amp  # noqa: E402

RESULTS = []
RUNNERS = {}


def check(name):
    """Run a check function, record PASS/FAIL with its message."""
    def wrap(fn):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                detail = fn(*args, **kwargs) or ''
                ok = True
            except Exception as error:  # reported, the other checks go on
                detail = f'{type(error).__name__}: {error}'
                traceback.print_exc()
                ok = False
            seconds = time.perf_counter() - start
            RESULTS.append(dict(check=name, ok=ok, detail=str(detail),
                                seconds=round(seconds, 1)))
            print(f"{'PASS' if ok else 'FAIL'}  {name}  ({seconds:.1f} s)  "
                  f'{detail}', flush=True)
            return ok
        return run
    return wrap


# ------------------------------------------------------------ 1. darkener
def _precision_flags():
    """The fp32-precision switches of cuBLAS matmuls and cuDNN convolutions:
    torch >= 2.9's ``fp32_precision`` ('ieee' / 'tf32'), else the legacy
    ``allow_tf32`` (mixing the two APIs is an error in new torch)."""
    backends = torch.backends
    conv = getattr(backends.cudnn, 'conv', None)
    if conv is not None and hasattr(conv, 'fp32_precision'):
        return [(backends.cuda.matmul, 'fp32_precision', 'ieee'),
                (conv, 'fp32_precision', 'ieee')]
    return [(backends.cuda.matmul, 'allow_tf32', False),
            (backends.cudnn, 'allow_tf32', False)]


@contextmanager
def tf32_off():
    """fp32 matmuls and convolutions in full fp32 (no TF32) inside; the
    previous settings are restored on exit. Yields what was set."""
    flags = _precision_flags()
    saved = [getattr(owner, name) for owner, name, _ in flags]
    try:
        for owner, name, value in flags:
            setattr(owner, name, value)
        yield f'TF32 off ({flags[0][1]}={flags[0][2]!r} for cuda.matmul ' \
              'and cudnn.conv)'
    finally:
        for (owner, name, _), value in zip(flags, saved):
            setattr(owner, name, value)


@check('darkener: device forward == CPU forward, fused backward == '
       'autograd')
def darkener_matches(device):
    with tf32_off() as precision:
        return f'{precision}: {_darkener_matches(device)}'


def _darkener_matches(device):
    from mmsimmm.models.darkeners.curve_darkener import (
        _apply_curve_autograd, apply_curve)
    torch.manual_seed(0)
    report = []
    for sf in (1, 4):
        cpu = MODELS.build(dict(type='mmsimmm.CurveDarkener',
                                scale_factor=sf)).eval()
        gpu = copy.deepcopy(cpu).to(device)
        img = torch.rand(2, 3, 128, 256)
        exposure = torch.tensor([0.1, 0.4])
        with torch.no_grad():
            ref = cpu(img, exposure)
            out = gpu(img.to(device), exposure.to(device)).cpu()
        err = (out - ref).abs().max().item()
        assert err < 1e-4, f'scale_factor={sf}: max |cuda - cpu| = {err:.2e}'
        report.append(f'sf{sf} fwd err {err:.1e}')
    img = torch.rand(2, 3, 64, 64, device=device, requires_grad=True)
    alpha = (torch.rand(2, 3, 64, 64, device=device) * 2 - 1).requires_grad_()
    beta = (0.95 + 0.05 * torch.rand(2, 3, 64, 64, device=device)
            ).requires_grad_()
    grad_out = torch.randn(2, 3, 64, 64, device=device)
    fused = torch.autograd.grad(apply_curve(img, alpha, beta), (img, alpha, beta),
                                grad_out)
    plain = torch.autograd.grad(_apply_curve_autograd(img, alpha, beta, 8),
                                (img, alpha, beta), grad_out)
    for name, a, b in zip(('img', 'alpha', 'beta'), fused, plain):
        err = (a - b).abs().max().item()
        assert err < 1e-4, f'grad {name}: max |fused - autograd| = {err:.2e}'
    report.append('grads equal')
    return ', '.join(report)


@check('darkener: fp16 / bf16 autocast outputs finite, close to fp32')
def darkener_autocast(device, size=(256, 512)):
    darkener = MODELS.build(dict(type='mmsimmm.CurveDarkener')).to(device)
    img = torch.rand(4, 3, *size, device=device)
    exposure = torch.full((4, ), 0.2, device=device)
    with torch.no_grad():
        ref = darkener(img, exposure)
        errors = []
        for dtype in (torch.float16, torch.bfloat16):
            with torch.autocast(device.type, dtype=dtype):
                out = darkener(img, exposure)
            assert torch.isfinite(out).all(), f'{dtype}: non-finite output'
            err = (out.float() - ref).abs().max().item()
            assert err < 0.05, f'{dtype}: max |amp - fp32| = {err:.3f}'
            errors.append(f'{str(dtype)[6:]} err {err:.1e}')
    return ', '.join(errors)


# ------------------------------------------------------- 2. runner, AMP
class PhaseSnapshots(Hook):
    """Parameter snapshots at the start, at the stage switch, at the end,
    and every logged loss."""
    priority = 'LOW'

    def __init__(self, darken_iters):
        self.darken_iters = darken_iters
        self.snapshots, self.losses, self.devices = {}, [], set()

    @staticmethod
    def state(runner):
        return {k: v.detach().float().cpu().clone()
                for k, v in runner.model.state_dict().items()
                if v.dtype.is_floating_point}

    def before_train(self, runner):
        self.snapshots['start'] = self.state(runner)
        self.devices = {str(t.device.type) for t in
                        list(runner.model.parameters()) +
                        list(runner.model.buffers())}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.extend((k, torch.as_tensor(v).item())
                           for k, v in (outputs or {}).items()
                           if 'loss' in k)
        if runner.iter + 1 == self.darken_iters:
            self.snapshots['switch'] = self.state(runner)

    def after_train(self, runner):
        self.snapshots['end'] = self.state(runner)


def moved_parts(before, after):
    return sorted({k.split('.')[0] for k in before
                   if not torch.equal(before[k], after[k])})


def build_runner(work_dir, data_root, iters, amp_dtype):
    """The demo's SMM config from scratch (no day checkpoint needed here),
    `iters` darken + `iters` adapt iterations, constant learning rates."""
    cfg = demo.make_config(
        'synthetic_streets_simmm.py', work_dir, data_root, 0, 'cuda_check',
        load_from=None,
        train_cfg=dict(darken_iters=iters, adapt_iters=iters),
        default_hooks=dict(checkpoint=dict(interval=2 * iters)))
    cfg.param_scheduler = dict(darkener=[], task=[])
    if amp_dtype:
        enable_amp(cfg)  # what tools/train.py --amp does
        for key in ('darkener', 'task'):
            cfg.optim_wrapper[key]['dtype'] = amp_dtype
    return Runner.from_cfg(cfg)


def train_on_device(work_dir, data_root, iters, amp_dtype, device):
    name = amp_dtype or 'fp32'

    @check(f'runner on {device.type}, {name}: devices, finite losses, '
           'phases, test')
    def run():
        runner = build_runner(osp.join(work_dir, name), data_root, iters,
                              amp_dtype)
        hook = PhaseSnapshots(iters)
        runner.register_hook(hook)
        start = time.perf_counter()
        runner.train()
        train_s = time.perf_counter() - start
        assert hook.devices == {device.type}, f'tensors on {hook.devices}'
        bad = [(k, v) for k, v in hook.losses if not torch.isfinite(
            torch.tensor(v))]
        assert not bad, f'non-finite losses: {bad[:3]}'
        snaps = hook.snapshots
        stage1 = moved_parts(snaps['start'], snaps['switch'])
        stage2 = moved_parts(snaps['switch'], snaps['end'])
        assert stage1 == ['darkener'], f'stage 1 moved {stage1}'
        assert 'darkener' not in stage2 and 'task_model' in stage2, \
            f'stage 2 moved {stage2}'
        metrics = runner.test()
        RUNNERS[name] = runner
        values = [metrics['day/mIoU'], metrics['night/mIoU']]
        assert all(v == v for v in values), f'mIoU {values}'
        return (f'train {train_s:.1f} s for {2 * iters} iters, stage 2 moved '
                f"{stage2}, day/night mIoU {values[0]:.2f}/{values[1]:.2f}")
    return run()


# ------------------------------------------------------------ 3. export
@check('export: plain mmseg model from the export == SMM model')
def export_matches(runner, device):
    ckpt = osp.join(runner.work_dir, f'iter_{runner.max_iters}.pth')
    out = osp.join(runner.work_dir, 'exported_task_model.pth')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'export_task_model.py'),
         ckpt, out], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1]
    plain = MODELS.build(runner.cfg.model.task_model)
    plain.load_state_dict(torch.load(out, map_location='cpu')['state_dict'],
                          strict=True)
    plain.to(device).eval()
    runner.model.eval()
    night_set = runner.test_loop.dataloaders[1].dataset
    pixels = 0
    for index in range(min(4, len(night_set))):
        sample = night_set[index]
        a = demo.predict(runner.model.task_model, sample)
        b = demo.predict(plain, sample)
        assert (a == b).all(), f'night image {index}: predictions differ'
        pixels += a.size
    return f'{pixels} night pixels predicted identically'


def main(argv=None) -> int:
    RESULTS.clear()
    RUNNERS.clear()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/cuda_check')
    parser.add_argument('--iters', type=int, default=12,
                        help='darken and adapt iterations per run')
    parser.add_argument('--json', metavar='OUT')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument(
        '--precisions', nargs='+', default=['fp32', 'float16', 'bfloat16'],
        choices=['fp32', 'float16', 'bfloat16'], help='runner runs to make')
    parser.add_argument(
        '--dry-run-on-cpu', action='store_true',
        help='exercise this script without a GPU (AMP needs CUDA: fp32 only)')
    args = parser.parse_args(argv)
    if args.dry_run_on_cpu:
        device = torch.device('cpu')
        args.precisions = ['fp32']
    elif torch.cuda.is_available():
        device = torch.device('cuda')
    else:
        sys.exit('cuda_check.py: CUDA is not available on this machine '
                 '(--dry-run-on-cpu exercises the script)')
    work_dir = osp.abspath(args.work_dir)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' \
        else 'CPU dry run'
    print(f'torch {torch.__version__}, {where}', flush=True)
    data_root = osp.join(work_dir, 'data')
    generate_synthetic_streets(data_root, num_train=args.num_train,
                               num_val=4, seed=0)
    darkener_matches(device)
    darkener_autocast(device, (64, 128) if args.dry_run_on_cpu else
                      (256, 512))
    for precision in args.precisions:
        train_on_device(work_dir, data_root, args.iters,
                        None if precision == 'fp32' else precision, device)
    if 'fp32' in RUNNERS:
        export_matches(RUNNERS['fp32'], device)
    failed = [r['check'] for r in RESULTS if not r['ok']]
    print(f'\n{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(RESULTS, f, indent=2)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
