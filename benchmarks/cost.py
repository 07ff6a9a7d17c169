"""Cost of Similarity Min-Max relative to plain training, measured in ONE run.

    python benchmarks/cost.py                 # full run (~4 min, 2 CPU cores)
    python benchmarks/cost.py --quick         # smoke run (small sizes, 1 rep)
    python benchmarks/cost.py --json out.json # also dump the numbers
    python benchmarks/cost.py --demo-seeds 0 1  # + demo accuracy (~40 min)
    python benchmarks/cost.py --device cuda --amp bfloat16 --step-size 512 1024

Every ratio is computed within this run from interleaved repeats: each round
times all contenders back to back, the ratio of a round is taken from that
round's two timings, and the median over rounds is reported with its range
(a machine shared with other jobs then biases both sides alike).

[1] darkener D forward (no_grad, as in stage 2 and at test time) on one
    512x1024 image for scale factors 1, 2, 4: median time, and peak memory
    (CPU: high-water RSS of a fresh subprocess during the forward minus its
    RSS just before; CUDA: peak allocated above the input).
[2] segmentation and [3] classification steps, each with:
    * stage-2 step (``SimMinMax.train_step``, phase 'adapt': D on B day
      images, F forward+backward on the 2B day+dark views, BYOL necks, EMA
      target forward on 2B, EMA update) / plain step of the same task model on
      the same 2B images (``task_model.train_step``: preprocessor + loss +
      backward + optimizer step); the same SMM step without BYOL (no necks,
      no EMA target), and the largest extra costs timed alone: D on B images
      and the EMA target (encoder + projector) on 2B, the latter also without
      channels-last to show what that saves;
    * stage-1 step (phase 'darken') / plain step of F on the B day images;
    * test time: ``SimMinMax.test_step`` / ``task_model.test_step`` on the
      same batch (the adapted model is the task model: ~1.00).
    Segmentation: mmseg EncoderDecoder, ResNetV1c-18 of real width + a light
    FCN head, dense BYOL necks on the 4 stages (as the segmentation configs);
    the cheap head makes this the worst case for the ratio. Classification:
    mmpretrain ResNet-18 + linear head, pooled BYOL neck, 224x224 (CODaN's
    model; the setting in which the reference was measured at 4.3x).
[4] optional (--demo-seeds): the demo's night mIoU with the default scale
    factor against scale_factor=1 (benchmarks/demo_scale_factor.py).
"""
import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (REPO, os.path.join(REPO, 'benchmarks')):
    if path not in sys.path:
        sys.path.insert(0, path)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
GOAL_DARKENER_S = 0.15
GOAL_ADAPT_RATIO = 1.4


# ----------------------------------------------------------------- helpers
def current_rss_kib() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark of this process (Linux >= 4.0).

    Needed because ``ru_maxrss`` of a freshly exec'd child starts at its
    parent's RSS at fork time (Linux folds the pre-exec mm's high-water mark
    into it), which would hide the child's own peak."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_rss_kib() -> int:
    """High-water RSS: VmHWM (resettable), else ``ru_maxrss``."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


DEVICE = torch.device('cpu')


def synchronize() -> None:
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize(DEVICE)


def timed(fn) -> float:
    synchronize()
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start


def interleaved(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Seconds of each callable per round, measured round-robin."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return times


def median(times) -> float:
    return statistics.median(times)


def paired_ratio(times: dict, num: str, den: str) -> dict:
    """Median and range over rounds of the per-round ratio num / den."""
    per_round = [a / b for a, b in zip(times[num], times[den])]
    return dict(median=median(per_round), low=min(per_round),
                high=max(per_round))


def seg_model_cfg(base_channels: int, size, num_classes: int = 19):
    """mmseg EncoderDecoder: ResNetV1c-18 + light FCN head, plain BN (the
    model of tests/conftest.py at a chosen width)."""
    from mmengine.config import ConfigDict
    norm_cfg = dict(type='BN', requires_grad=True)
    return ConfigDict(
        _scope_='mmseg',
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True,
            pad_val=0, seg_pad_val=255, size=tuple(size)),
        backbone=dict(
            type='ResNetV1c', depth=18, base_channels=base_channels,
            stem_channels=base_channels, num_stages=4,
            out_indices=(0, 1, 2, 3), norm_cfg=norm_cfg,
            contract_dilation=True),
        decode_head=dict(
            type='FCNHead', in_channels=base_channels * 8, in_index=3,
            channels=16, num_convs=1, dropout_ratio=0.0,
            num_classes=num_classes, norm_cfg=norm_cfg, align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                             loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def seg_smm_cfg(base_channels: int, size):
    return dict(
        type='mmsimmm.SimMinMax',
        task_model=seg_model_cfg(base_channels, size),
        darkener=dict(type='mmsimmm.CurveDarkener'),
        task_adapter=dict(type='MMSegTaskAdapter'),
        projector=dict(
            type='mmsimmm.BYOLProjector',
            in_channels=[base_channels * 2**i for i in range(4)], dense=True),
        predictor=dict(type='mmsimmm.BYOLPredictor', num_branches=4),
        night_exposure=dict(type='mmsimmm.NightExposureSampler',
                            patch_size=64),
        seed=0)


def cls_smm_cfg(base_channels: int, size, num_classes: int = 10):
    """mmpretrain ResNet-18 classifier (CODaN's model) with the pooled BYOL
    neck: the setting the speed issue measured the reference in."""
    from mmengine.config import ConfigDict
    width = base_channels * 8
    return dict(
        type='mmsimmm.SimMinMax',
        task_model=ConfigDict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor', mean=MEAN, std=STD, to_rgb=True,
                num_classes=num_classes),
            backbone=dict(type='ResNet', depth=18,
                          base_channels=base_channels, out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=num_classes,
                      in_channels=width)),
        darkener=dict(type='mmsimmm.CurveDarkener'),
        task_adapter=dict(type='MMPretrainTaskAdapter'),
        projector=dict(type='mmsimmm.BYOLProjector', in_channels=width),
        predictor=dict(type='mmsimmm.BYOLPredictor'),
        night_exposure=dict(type='mmsimmm.NightExposureSampler',
                            patch_size=max(1, size[0] // 16)),
        byol_loss=dict(type='mmsimmm.BYOLLoss', loss_weight=0.05),
        seed=0)


def cls_batch(n, h, w, num_classes=10, seed=0):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[torch.randint(0, 256, (3, h, w), generator=gen,
                              dtype=torch.uint8) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % num_classes)
                      for i in range(n)])


def seg_batch(n, h, w, num_classes=19, seed=0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w), generator=gen))
        sample.set_metainfo(
            dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


TASKS = dict(
    seg=dict(name='segmentation', smm_cfg=seg_smm_cfg, batch=seg_batch,
             model='mmseg ResNetV1c-18 + light FCN head, dense BYOL necks on '
             'the 4 stages (worst case: the head is cheap, the necks are not)'),
    cls=dict(name='classification', smm_cfg=cls_smm_cfg, batch=cls_batch,
             model='mmpretrain ResNet-18 + linear head, pooled BYOL neck '
             '(CODaN; the setting of the reference measurement)'))


def with_dark_views(model, batch):
    """The B day images + their darkened views (as uint8 BGR images, like a
    dataset would give them): the 2B batch of the plain step."""
    adapter = model.task_adapter
    with torch.no_grad():
        data = model.data_preprocessor(copy.copy(batch), False)
        day = adapter.to_unit_rgb(model.data_preprocessor, data['inputs'])
        dark = model.darkener(day, 0.1)
    dark_bgr = (dark.flip(1) * 255).round().clamp(0, 255).to(
        torch.uint8).cpu()
    return dict(
        inputs=list(batch['inputs']) + list(dark_bgr.unbind(0)),
        data_samples=list(batch['data_samples']) * 2)


# --------------------------------------------------------- 1. darkener D
def darkener_memory_worker(scale_factor: int, h: int, w: int,
                           threads: int) -> None:
    """Runs in a fresh subprocess: one D forward; prints JSON."""
    torch.set_num_threads(threads)
    import mmsimmm  # noqa: F401
    from mmsimmm.registry import MODELS
    darkener = MODELS.build(
        dict(type='mmsimmm.CurveDarkener', scale_factor=scale_factor)).eval()
    img = torch.rand(1, 3, h, w)
    reset = reset_peak_rss()
    before = current_rss_kib()
    with torch.no_grad():
        darkener(img, 0.1)
    peak = peak_rss_kib()
    print(json.dumps(dict(peak_delta_mib=max(0, peak - before) / 1024,
                          rss_after_imports_mib=before / 1024,
                          peak_reset=reset)))


def cpu_darkener_memory(scale_factor: int, h: int, w: int) -> dict:
    """Peak RSS of one D forward, measured in a fresh subprocess."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--_darkener-memory',
         str(scale_factor), str(h), str(w), str(torch.get_num_threads())],
        capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        raise RuntimeError('darkener memory subprocess (scale_factor='
                           f'{scale_factor}) failed:\n{out.stderr[-2000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def cuda_darkener_memory(darkener, img) -> dict:
    """Peak CUDA memory of one D forward above what was allocated before."""
    torch.cuda.synchronize(DEVICE)
    torch.cuda.reset_peak_memory_stats(DEVICE)
    before = torch.cuda.memory_allocated(DEVICE)
    with torch.no_grad():
        darkener(img, 0.1)
    torch.cuda.synchronize(DEVICE)
    peak = torch.cuda.max_memory_allocated(DEVICE)
    return dict(peak_delta_mib=(peak - before) / 2**20)


def measure_darkener(h, w, scale_factors, repeats):
    import mmsimmm  # noqa: F401
    from mmsimmm.registry import MODELS
    if DEVICE.type == 'cpu':  # first, while this process is still small
        memory = {s: cpu_darkener_memory(s, h, w) for s in scale_factors}
    img = torch.rand(1, 3, h, w, device=DEVICE)
    models = {
        s: MODELS.build(dict(type='mmsimmm.CurveDarkener',
                             scale_factor=s)).eval().to(DEVICE)
        for s in scale_factors
    }
    if DEVICE.type == 'cuda':
        memory = {s: cuda_darkener_memory(models[s], img)
                  for s in scale_factors}

    def forward(s):
        def run():
            with torch.no_grad():
                models[s](img, 0.1)
        return run

    times = interleaved({s: forward(s) for s in scale_factors}, repeats)
    return {
        s: dict(time_s=median(times[s]), times_s=times[s],
                ratio_to_sf1=paired_ratio(times, s, 1)['median']
                if 1 in times else None, **memory[s])
        for s in scale_factors
    }


# ------------------------------------------------------------- 2.-4. steps
def build_smm(cfg, amp_dtype=None):
    """A SimMinMax model in train mode on DEVICE and its optimiser dict."""
    from mmsimmm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    torch.manual_seed(0)
    smm = MODELS.build(cfg)
    smm.init_weights()
    smm.to(DEVICE).train()
    wrapper = dict(type='AmpOptimWrapper', dtype=amp_dtype) if amp_dtype \
        else dict(type='OptimWrapper')
    smm_optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type='mmsimmm.SimMinMaxOptimWrapperConstructor',
             optim_wrapper_cfg=dict(
                 darkener=dict(wrapper, optimizer=dict(type='Adam', lr=1e-4),
                               clip_grad=dict(max_norm=0.1)),
                 task=dict(wrapper, optimizer=dict(type='SGD', lr=1e-3,
                                                   momentum=0.9)))))(smm)
    return smm, smm_optim


def build_models(task, base_channels, size, amp_dtype=None):
    """SMM, SMM without BYOL (no necks, no EMA target), the plain task
    model (a copy of SMM's), each with its optimiser."""
    from mmengine.logging import MMLogger
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    import mmsimmm  # noqa: F401
    # keep init_weights' per-parameter report out of the table
    MMLogger.get_instance('mmsimmm-cost-benchmark', log_level='WARNING')
    cfg = TASKS[task]['smm_cfg'](base_channels, size)
    smm, smm_optim = build_smm(cfg, amp_dtype)
    no_byol = build_smm(dict(cfg, projector=None, predictor=None), amp_dtype)
    plain = copy.deepcopy(smm.task_model)
    plain.train()
    plain_optimizer = torch.optim.SGD(plain.parameters(), lr=1e-3,
                                      momentum=0.9)
    plain_optim = AmpOptimWrapper(dtype=amp_dtype,
                                  optimizer=plain_optimizer) if amp_dtype \
        else OptimWrapper(plain_optimizer)
    return smm, smm_optim, no_byol, plain, plain_optim


def measure_steps(task, base_channels, batch_size, h, w, repeats,
                  amp_dtype=None):
    from mmengine.logging import MessageHub
    smm, smm_optim, no_byol, plain, plain_optim = build_models(
        task, base_channels, (h, w), amp_dtype)
    hub = MessageHub.get_instance('mmsimmm-cost-benchmark')
    batch = TASKS[task]['batch'](batch_size, h, w)
    batch_2b = with_dark_views(smm, batch)
    counter = iter(range(10**9))

    def smm_step(phase, model=smm, optim=smm_optim):
        def run():
            hub.update_info('iter', next(counter))
            hub.update_info('smm_phase', phase)
            model.train_step(copy.copy(batch), optim)
        return run

    def plain_step(data):
        return lambda: plain.train_step(copy.copy(data), plain_optim)

    # the largest extra costs of stage 2, alone (no_grad forwards)
    adapter = smm.task_adapter
    inputs_2b = smm.data_preprocessor(copy.copy(batch_2b), True)['inputs']
    day = adapter.to_unit_rgb(smm.data_preprocessor, inputs_2b[:batch_size])
    exposure = smm.night_exposure(batch_size, (h, w), DEVICE)

    def darken():
        with torch.no_grad():
            smm.darkener(day, exposure)

    # SMM keeps its EMA target channels-last; the contiguous copy shows
    # what that saves on this device
    target_nchw = copy.deepcopy(smm.target.module).to(
        memory_format=torch.contiguous_format)

    def target_forward(target, inputs):
        def run():
            with torch.no_grad(), torch.autocast(
                    DEVICE.type, dtype=amp_dtype or torch.bfloat16,
                    enabled=amp_dtype is not None):
                target['projector'](adapter.encode(target, inputs))
        return run

    # one logging call of the visualisation hook on the step's batch
    from mmsimmm.engine.hooks.darken_visualization_hook import \
        DarkenVisualizationHook
    vis_hook = DarkenVisualizationHook(num_images=2)

    def hook_call(phase):
        def run():
            hub.update_info('smm_phase', phase)
            vis_hook.measure(smm, copy.copy(batch), phase)
        return run

    stage2 = interleaved(
        dict(plain=plain_step(batch_2b), smm=smm_step('adapt'),
             hook=hook_call('adapt'),
             no_byol=smm_step('adapt', *no_byol), darkener=darken,
             target=target_forward(
                 smm.target.module,
                 inputs_2b.contiguous(memory_format=torch.channels_last)),
             target_nchw=target_forward(target_nchw, inputs_2b)),
        repeats)
    stage1 = interleaved(
        dict(plain=plain_step(batch), smm=smm_step('darken'),
             hook=hook_call('darken')), repeats)
    smm.eval()
    task = smm.task_model
    test = interleaved(
        dict(plain=lambda: task.test_step(copy.copy(batch)),
             smm=lambda: smm.test_step(copy.copy(batch))), repeats)
    return dict(stage2=stage2, stage1=stage1, test=test)


def fmt_ratio(r: dict) -> str:
    return f"{r['median']:5.2f}x [{r['low']:.2f}-{r['high']:.2f}]"


# ------------------------------------------------------------------- main
def print_steps(task, steps, default_sf) -> dict:
    ratios = {k: paired_ratio(v, 'smm', 'plain') for k, v in steps.items()}
    s2, s1, te = steps['stage2'], steps['stage1'], steps['test']
    for part in ('no_byol', 'darkener', 'target', 'target_nchw'):
        ratios[f'stage2_{part}'] = paired_ratio(s2, part, 'plain')
    print('  (ratio: median over rounds [range])')
    print('  stage-2 SMM step / plain step on 2B:      '
          f"{fmt_ratio(ratios['stage2'])}  ({median(s2['smm']):.3f} s / "
          f"{median(s2['plain']):.3f} s)")
    print('    without BYOL (no necks, no EMA target): '
          f"{fmt_ratio(ratios['stage2_no_byol'])}  "
          f"({median(s2['no_byol']):.3f} s)")
    for part, label in (('darkener', f'D forward on B (sf={default_sf})'),
                        ('target', 'EMA target fwd on 2B'),
                        ('target_nchw', '(same, not channels-last)')):
        print(f'    of which {label:<30} '
              f"{fmt_ratio(ratios['stage2_' + part])}  "
              f'({median(s2[part]):.3f} s)')
    for stage, steps_of in (('stage2', s2), ('stage1', s1)):
        ratios[f'{stage}_hook'] = paired_ratio(steps_of, 'hook', 'smm')
        print(f'  DarkenVisualizationHook call / SMM {stage} step: '
              f"{fmt_ratio(ratios[f'{stage}_hook'])}  "
              f"({median(steps_of['hook']):.3f} s; per iteration at "
              f"interval 50: {ratios[f'{stage}_hook']['median'] / 50:.2%})")
    print('  stage-1 SMM step / plain F step on B:     '
          f"{fmt_ratio(ratios['stage1'])}  ({median(s1['smm']):.3f} s / "
          f"{median(s1['plain']):.3f} s)")
    print('  test: SimMinMax / task model test_step:   '
          f"{fmt_ratio(ratios['test'])}  ({median(te['smm']):.3f} s / "
          f"{median(te['plain']):.3f} s)", flush=True)
    return ratios


def main(argv=None):
    global DEVICE
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: small sizes, 1 repeat')
    parser.add_argument('--json', metavar='OUT', help='dump numbers here')
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch threads (default: 2, the cores of the dev machine; 1 '
        'with --quick, where oversubscription only slows the smoke run)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:N]')
    parser.add_argument(
        '--amp', choices=('float16', 'bfloat16'), nargs='?', const='float16',
        help='steps under AmpOptimWrapper of this dtype (default float16)')
    parser.add_argument('--tasks', nargs='+', choices=sorted(TASKS),
                        default=['seg', 'cls'])
    parser.add_argument('--batch', type=int, default=None, help='B')
    parser.add_argument('--step-size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'), help='image size of the steps')
    parser.add_argument(
        '--demo-seeds', type=int, nargs='+', default=None, metavar='SEED',
        help='also run the demo accuracy check (default scale factor vs 1, '
        'benchmarks/demo_scale_factor.py) for these seeds: ~20 min each')
    parser.add_argument('--_darkener-memory', nargs=4, type=int,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._darkener_memory:
        darkener_memory_worker(*args._darkener_memory)
        return None
    DEVICE = torch.device(args.device)
    if DEVICE.type == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available here')
    if args.amp and DEVICE.type != 'cuda':
        parser.error("--amp needs --device cuda (mmengine's AmpOptimWrapper "
                     'runs on accelerators only)')
    if args.threads is None:
        args.threads = 1 if args.quick else 2
    torch.set_num_threads(args.threads)
    if args.quick:
        cfg = dict(d_size=(64, 128), base_channels=8, batch=2,
                   step_size=dict(seg=(32, 64), cls=(32, 32)), d_repeats=1,
                   step_repeats=1)
    else:
        cfg = dict(d_size=(512, 1024), base_channels=64, batch=8,
                   step_size=dict(seg=(128, 256), cls=(224, 224)),
                   d_repeats=7, step_repeats=7)
    if args.repeats:
        cfg.update(d_repeats=args.repeats, step_repeats=args.repeats)
    if args.batch:
        cfg['batch'] = args.batch
    if args.step_size:
        cfg['step_size'] = {task: tuple(args.step_size) for task in TASKS}
    amp_dtype = getattr(torch, args.amp) if args.amp else None
    import mmsimmm  # noqa: F401
    from mmsimmm.registry import MODELS
    default_sf = MODELS.build(dict(type='mmsimmm.CurveDarkener')).scale_factor
    scale_factors = sorted({1, 2, 4, default_sf})
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    where = (torch.cuda.get_device_name(DEVICE) if DEVICE.type == 'cuda'
             else f'{torch.get_num_threads()} CPU threads')
    print(f'torch {torch.__version__}, {where}, '
          f"{'quick' if args.quick else 'full'} run, "
          f"{'AMP ' + args.amp if args.amp else 'fp32'} steps; medians of "
          f'interleaved repeats; load average {load_before:.1f}', flush=True)

    h, w = cfg['d_size']
    memory_note = ('peak CUDA memory allocated above the input' if
                   DEVICE.type == 'cuda' else 'peak RSS - RSS after imports '
                   '(fresh subprocess each)')
    print(f'\n[1] darkener D forward (no_grad, fp32) on 1x3x{h}x{w}, median '
          f"of {cfg['d_repeats']}; memory = {memory_note}", flush=True)
    darkener = measure_darkener(h, w, scale_factors, cfg['d_repeats'])
    for s, row in darkener.items():
        tag = ' (default)' if s == default_sf else ''
        tag += ' (paper)' if s == 1 else ''
        print(f'  D forward  scale_factor={s}: {row["time_s"]:7.3f} s  '
              f'x{row["ratio_to_sf1"]:5.3f} of sf=1   peak '
              f'+{row["peak_delta_mib"]:7.1f} MiB{tag}', flush=True)

    b = cfg['batch']
    steps, ratios = {}, {}
    for index, task in enumerate(args.tasks, start=2):
        sh, sw = cfg['step_size'][task]
        print(f"\n[{index}] {TASKS[task]['name']} steps: "
              f"{TASKS[task]['model']}; base_channels={cfg['base_channels']}"
              f', B={b}, {sh}x{sw}, D scale_factor={default_sf}, '
              f"{cfg['step_repeats']} rounds", flush=True)
        steps[task] = measure_steps(task, cfg['base_channels'], b, sh, sw,
                                    cfg['step_repeats'], amp_dtype)
        ratios[task] = print_steps(task, steps[task], default_sf)

    demo_rows = None
    if args.demo_seeds:
        print(f'\n[{len(args.tasks) + 2}] demo night mIoU, D scale_factor='
              f'{default_sf} vs 1, seeds {args.demo_seeds} '
              '(benchmarks/demo_scale_factor.py)', flush=True)
        import demo_scale_factor
        demo_rows = demo_scale_factor.main(
            ['--seeds', *map(str, args.demo_seeds), '--work-dir',
             'work_dirs/cost_demo_scale_factor'])
    else:
        print('\n(demo accuracy, default scale factor vs 1: add --demo-seeds '
              '0 1, ~40 min, or run benchmarks/demo_scale_factor.py)')

    d_default = darkener[default_sf]['time_s']
    goals = dict(darkener=dict(value=d_default, goal=GOAL_DARKENER_S,
                               ok=d_default <= GOAL_DARKENER_S))
    for task in args.tasks:
        value = ratios[task]['stage2']['median']
        goals[f'stage2_{task}'] = dict(value=value, goal=GOAL_ADAPT_RATIO,
                                       ok=value <= GOAL_ADAPT_RATIO)
    print('\ngoals (set for 2 CPU cores' +
          (', full sizes' if not args.quick else '; quick run: other sizes') +
          ')')
    print(f'  D forward at default scale_factor={default_sf} <= '
          f'{GOAL_DARKENER_S} s: {d_default:.3f} s  '
          f"{'PASS' if goals['darkener']['ok'] else 'FAIL'}")
    for task in args.tasks:
        goal = goals[f'stage2_{task}']
        print(f"  {TASKS[task]['name']} stage-2 step <= {GOAL_ADAPT_RATIO}x "
              f"plain step: {goal['value']:.3f}x  "
              f"{'PASS' if goal['ok'] else 'FAIL'}")
    elapsed = time.perf_counter() - start
    print(f'\ntotal benchmark time {elapsed:.0f} s; load average '
          f'{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, '
          f'{os.cpu_count()} CPUs (a load above {args.threads} means other '
          'jobs competed with this run: trust the ratios, not the seconds)')
    result = dict(
        config=dict(cfg, quick=args.quick, threads=torch.get_num_threads(),
                    device=str(DEVICE), amp=args.amp,
                    default_scale_factor=default_sf,
                    torch=torch.__version__),
        darkener={str(s): row for s, row in darkener.items()},
        steps=steps, ratios=ratios, goals=goals, demo=demo_rows,
        elapsed_s=elapsed,
        load_average=dict(before=load_before, after=os.getloadavg()[0]))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
