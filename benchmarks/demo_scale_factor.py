"""Demo night mIoU with the darkener's default scale factor vs scale_factor=1.

    python benchmarks/demo_scale_factor.py                  # seeds 0 1 (~40 min)
    python benchmarks/demo_scale_factor.py --seeds 0 1 2 --json out.json

For each seed: the demo's data (generated with that seed), the demo's day-only
baseline, then SMM from the same baseline checkpoint once per scale factor
(everything else as `tools/demo.py`). Prints one row per (seed, scale factor)
and the verdict of the check asked by the speed issue: the mean night mIoU of
the default scale factor may not be lower than that of scale_factor=1 by
more than the seed-to-seed spread (max - min over seeds, the larger of the
two settings').
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))

import demo  # noqa: E402  (tools/demo.py: filters warnings, imports mmsimmm)
import torch  # noqa: E402

from mmsimmm.datasets import generate_synthetic_streets  # noqa: E402
from mmsimmm.registry import MODELS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--scale-factors', type=int, nargs='+', default=None,
                        help='default: the CurveDarkener default and 1')
    parser.add_argument('--work-dir', default='work_dirs/demo_scale_factor')
    parser.add_argument('--json', metavar='OUT', help='dump the rows here')
    parser.add_argument(
        '--previous', metavar='JSON', nargs='+', default=[],
        help='rows of earlier runs (their --json) to include in the summary; '
        'their seeds are not run again')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=40)
    parser.add_argument('--iters', type=int, nargs=3, default=None,
                        metavar=('PRETRAIN', 'DARKEN', 'ADAPT'),
                        help="default: the demo configs' (450 150 250)")
    return parser.parse_args(argv)


def spread(values):
    return max(values) - min(values) if len(values) > 1 else float('nan')


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    default_sf = MODELS.build(dict(type='mmsimmm.CurveDarkener')).scale_factor
    scale_factors = args.scale_factors or sorted({default_sf, 1},
                                                 reverse=True)
    pretrain, darken, adapt = args.iters or demo.default_iterations()
    previous = []
    for path in args.previous:
        with open(path) as f:
            previous += json.load(f)['rows']
    done = {r['seed'] for r in previous}
    rows = []
    for seed in [s for s in args.seeds if s not in done]:
        root = osp.abspath(osp.join(args.work_dir, f'seed{seed}'))
        data_root = osp.join(root, 'data')
        generate_synthetic_streets(data_root, num_train=args.num_train,
                                   num_val=args.num_val, seed=seed)
        print(f'seed {seed}: day-only baseline', flush=True)
        baseline = demo.train_baseline(
            osp.join(root, 'baseline'), data_root, seed, pretrain,
            pretrain + adapt)
        base = baseline.test()
        rows.append(dict(seed=seed, model='baseline', scale_factor=None,
                         day=base['day/mIoU'], night=base['night/mIoU']))
        for sf in scale_factors:
            print(f'seed {seed}: SMM, scale_factor={sf}', flush=True)
            start = time.time()
            smm = demo.train_smm(
                osp.join(root, f'simmm_sf{sf}'), data_root, seed,
                osp.join(root, 'baseline', f'iter_{pretrain}.pth'), darken,
                adapt, model=dict(darkener=dict(scale_factor=sf)))
            minutes = (time.time() - start) / 60
            metrics = smm.test()
            trained_sf = smm.model.darkener.scale_factor  # as built
            rows.append(dict(seed=seed, model='SMM', scale_factor=trained_sf,
                             day=metrics['day/mIoU'],
                             night=metrics['night/mIoU'],
                             train_minutes=round(minutes, 2)))
            print(f'  night mIoU {metrics["night/mIoU"]:.2f}  '
                  f'({minutes:.1f} min)', flush=True)

    summary = summarize(previous + rows, scale_factors, default_sf)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(summary, rows=previous + rows,
                           iterations=dict(pretrain=pretrain, darken=darken,
                                           adapt=adapt)), f, indent=2)
    return summary


def summarize(rows, scale_factors, default_sf) -> dict:
    """Print the table and the verdict; return the numbers behind them."""
    print('\n| seed | model | scale_factor | day mIoU | night mIoU | SMM '
          'train min |\n|---|---|---|---|---|---|')
    for r in rows:
        sf = '' if r['scale_factor'] is None else r['scale_factor']
        print(f"| {r['seed']} | {r['model']} | {sf} | {r['day']:.2f} | "
              f"{r['night']:.2f} | {r.get('train_minutes', '')} |")
    night = {
        sf: [r['night'] for r in rows if r['scale_factor'] == sf]
        for sf in scale_factors
    }
    noise = max(spread(v) for v in night.values())
    print('\nnight mIoU, mean over seeds [spread]:')
    for sf, values in night.items():
        print(f'  scale_factor={sf}: {statistics.mean(values):.2f} '
              f'[{spread(values):.2f}]')
    drop = verdict = None
    if default_sf in night and 1 in night and default_sf != 1:
        drop = statistics.mean(night[1]) - statistics.mean(night[default_sf])
        verdict = bool(drop <= noise)  # False when noise is nan (1 seed)
        print(f'default scale_factor={default_sf} vs 1: mean drop '
              f'{drop:.2f} mIoU, seed noise {noise:.2f} -> '
              f"{'PASS' if verdict else 'FAIL'} (not worse beyond noise)")
    return dict(night={str(k): v for k, v in night.items()}, noise=noise,
                drop=drop, passed=verdict)


if __name__ == '__main__':
    main()
