"""The night table's segmentation models on kinds of night they never saw.

    python benchmarks/night_shift.py                   # seeds 0 1 2
    python benchmarks/night_shift.py --seeds 0 --rows erm_control smm

Trains nothing: reads the checkpoints `benchmarks/night_table.py` left under
--work-dir, renders each seed's day test scenes again under every kind of
night in `mmsimmm.datasets.synthetic_streets.NIGHT_SHIFTS` (same scenes and
labels, one assumption of the night model changed: an under-exposing camera,
a high-gain noisy sensor, an unlit road), evaluates every trained row on them
and writes results/night_shift.md (night mIoU, mean +- std over seeds, next
to the table's own night). AdaBN is left out: its statistics come from the
table's own night images.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import sys
from dataclasses import asdict, replace

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

import cv2  # noqa: E402
import night_table  # noqa: E402  (imports tools/demo.py and mmsimmm)
import numpy as np  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmsimmm.datasets.synthetic_streets import (IMG_SUFFIX,  # noqa: E402
                                                NIGHT_SHIFTS, SEG_SUFFIX,
                                                render_night)

TASK = night_table.TASKS['seg']
SHIFT_MARKER = '.night_shift.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', nargs='+', default=None,
                        help='row names (default: every trained row of the '
                        "table found under --work-dir except AdaBN)")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/night_table')
    parser.add_argument('--out', default=osp.join(REPO, 'results',
                                                  'night_shift.md'))
    return parser.parse_args(argv)


def shift_prefix(shift: str) -> dict:
    return dict(img_path=f'night_shift/{shift}/leftImg8bit/val',
                seg_map_path='gtFine/val')


def render_shifts(data_root: str, seed: int) -> None:
    """Every kind of night of the seed's day test scenes, once (a marker
    records the conditions; a change re-renders)."""
    day_dir = osp.join(data_root, 'leftImg8bit', 'val')
    days = sorted(glob.glob(osp.join(day_dir, '*', '*' + IMG_SUFFIX)))
    if not days:
        raise SystemExit(f'night_shift: no day test images under {day_dir} '
                         '(run benchmarks/night_table.py first)')
    for shift_index, (shift, conditions) in enumerate(
            sorted(NIGHT_SHIFTS.items())):
        out_dir = osp.join(data_root, shift_prefix(shift)['img_path'])
        marker = osp.join(out_dir, SHIFT_MARKER)
        # as JSON reads it back (tuples become lists)
        expected = json.loads(json.dumps(dict(
            conditions=asdict(conditions), seed=seed, images=len(days))))
        if osp.isfile(marker):
            with open(marker) as f:
                if json.load(f) == expected:
                    continue
        for index, day_path in enumerate(days):
            label_path = day_path.replace(
                osp.join('leftImg8bit', 'val'),
                osp.join('gtFine', 'val')).replace(IMG_SUFFIX, SEG_SUFFIX)
            day = cv2.imread(day_path, cv2.IMREAD_COLOR)
            label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
            if day is None or label is None:
                raise SystemExit(f'night_shift: cannot read {day_path} or '
                                 f'its label {label_path}')
            rng = np.random.default_rng([seed, 7, shift_index, index])
            night = render_night(day[..., ::-1], label, rng, conditions)
            path = osp.join(out_dir, osp.relpath(day_path, day_dir))
            os.makedirs(osp.dirname(path), exist_ok=True)
            if not cv2.imwrite(path, np.ascontiguousarray(night[..., ::-1])):
                raise SystemExit(f'night_shift: failed to write {path}')
        with open(marker, 'w') as f:
            json.dump(expected, f)


def evaluated_rows(names):
    rows = [r for r in TASK.rows if not r.uses_night_data]
    if names:
        known = {r.name for r in rows}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SystemExit(f"night_shift: unknown row '{unknown[0]}' "
                             f"(known: {', '.join(sorted(known))})")
        rows = [r for r in rows if r.name in names]
    return rows


def evaluate(table_runner, row, rows) -> dict:
    """Night mIoU of one row's checkpoint on the table's night and on every
    shifted night; None when the table has not trained the row."""
    source = rows[row.source] if row.kind == 'eval' else row
    checkpoint = table_runner.checkpoint(source)
    if not osp.isfile(checkpoint):
        return None
    config = row.config or (TASK.base_config if row.kind == 'day'
                            else TASK.smm_config)
    cfg = table_runner._config(replace(row, name=f'{row.name}/night_shift'),
                               config, load_from=checkpoint)
    night = cfg.test_dataloader[1]
    shifts = sorted(NIGHT_SHIFTS)
    cfg.test_dataloader = [night] + [
        dict(night, dataset=dict(night['dataset'],
                                 data_prefix=shift_prefix(shift)))
        for shift in shifts]
    cfg.test_evaluator = [
        dict(type='IoUMetric', iou_metrics=['mIoU'], prefix=prefix)
        for prefix in ['night', *shifts]]
    metrics = Runner.from_cfg(cfg).test()
    return {prefix: float(metrics[f'{prefix}/mIoU'])
            for prefix in ['night', *shifts]}


def markdown(table: dict, argv) -> str:
    columns = ['night', *sorted(NIGHT_SHIFTS)]
    lines = ['# Held-out kinds of night (segmentation streets)', '',
             'Produced by `' + ' '.join(
                 ['python benchmarks/night_shift.py', *argv]) + '` from the '
             'checkpoints of `benchmarks/night_table.py` (trains nothing). '
             'Night mIoU, mean ± std over seeds. `night`: the table\'s own '
             'night; the others re-render the same day test scenes with one '
             'assumption of the night model changed '
             '(`mmsimmm.datasets.synthetic_streets.NIGHT_SHIFTS`):', '']
    for shift, conditions in sorted(NIGHT_SHIFTS.items()):
        changed = {k: v for k, v in asdict(conditions).items()
                   if v != asdict(type(conditions)())[k]}
        lines.append(f'- `{shift}`: {changed}')
    lines += ['', '| row | ' + ' | '.join(columns) + ' | seeds |',
              '|---|' + '---|' * (len(columns) + 1)]
    labels = {r.name: r.label.format(**TASK.iters) for r in TASK.rows}
    for name, results in table.items():
        cells = []
        for column in columns:
            values = [r[column] for r in results.values()]
            mean = statistics.mean(values)
            cells.append(f'{mean:.1f}' if len(values) < 2 else
                         f'{mean:.1f} ± {statistics.stdev(values):.1f}')
        lines.append(f'| {labels[name]} | ' + ' | '.join(cells) + ' | ' +
                     ','.join(map(str, results)) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    night_table.select_device(None)
    table_args = night_table.parse_args(['--tasks', 'seg', '--work-dir',
                                         args.work_dir])
    rows = {r.name: r for r in TASK.rows}
    table = {}
    for seed in args.seeds:
        table_runner = night_table.TableRunner(TASK, seed, table_args)
        render_shifts(table_runner.data_root, seed)
        for row in evaluated_rows(args.rows):
            result = evaluate(table_runner, row, rows)
            if result is not None:
                table.setdefault(row.name, {})[seed] = result
    if not table:
        raise SystemExit(f'night_shift: no trained rows under '
                         f'{args.work_dir} for seeds {args.seeds}')
    text = markdown(table, argv)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
