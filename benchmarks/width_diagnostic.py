"""Is the segmentation day loss a capacity effect? The night table's
control, gamma + noise and SMM rows with the demo network at another width.

    python benchmarks/width_diagnostic.py --seed 0 --base-channels 32

The rows, schedules, data and cache layout are those of
`benchmarks/night_table.py` (segmentation); only the ResNet's base width
(16 in the demo) and the channel counts that follow it change. Results go to
--work-dir (default work_dirs/width<N>) and a table next to it. A diagnostic,
not a row of the table: the README quotes it for the day-loss question.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import night_table  # noqa: E402

ROWS = ('erm_control', 'darken_gamma_noise', 'smm')


def widen(cfg, base_channels: int):
    """The demo segmentor (or SMM's task model) at ``base_channels``."""
    smm = cfg.model.type == 'mmsimmm.SimMinMax'
    model = cfg.model.task_model if smm else cfg.model
    model.backbone.base_channels = base_channels
    model.backbone.stem_channels = base_channels
    widths = [base_channels * 2**i for i in range(4)]
    model.decode_head.in_channels = widths
    if smm:
        cfg.model.projector.in_channels = widths
    return cfg


class WideTableRunner(night_table.TableRunner):
    base_channels = 16

    def _config(self, row, config, **overrides):
        return widen(super()._config(row, config, **overrides),
                     self.base_channels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--base-channels', type=int, default=32)
    parser.add_argument('--iters', type=int, nargs=3, default=None,
                        metavar=('PRETRAIN', 'EXTRA', 'DARKEN'))
    parser.add_argument('--work-dir', default=None)
    args = parser.parse_args(argv)
    if args.base_channels < 1:
        raise SystemExit(f'width_diagnostic: --base-channels must be >= 1, '
                         f'got {args.base_channels}')
    work_dir = args.work_dir or f'work_dirs/width{args.base_channels}'
    runner_cls = type('WideTableRunner', (WideTableRunner, ),
                      dict(base_channels=args.base_channels))
    table_argv = ['--tasks', 'seg', '--seeds', str(args.seed), '--rows',
                  *ROWS, '--work-dir', work_dir, '--out',
                  osp.join(work_dir, f'table_seed{args.seed}.md')]
    if args.iters:
        table_argv += ['--iters', *map(str, args.iters)]
    night_table.main(table_argv, runner_cls=runner_cls)


if __name__ == '__main__':
    main()
