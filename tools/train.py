"""Train a model (SMM or a day-only baseline) with mmengine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse

import mmsimmm  # noqa: F401  (version checks + compatibility fixes)
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmsimmm.compat import init_cpu_distributed
from mmsimmm.errors import UserFacingError
from mmsimmm.utils import (add_runner_arguments, check_data_paths,
                           enable_amp, load_config)
from mmsimmm.utils.config_utils import (fit_state_dict, one_line_errors,
                                        read_state_dict)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint of the work '
        'dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    add_runner_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    check_data_paths(cfg, ('train_dataloader', 'val_dataloader'))
    init_cpu_distributed(cfg)  # gloo where there is no CUDA
    with one_line_errors(args.config):
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        # mmengine loads load_from non-strictly: a checkpoint of another
        # model would train from random weights with a few warnings
        if cfg.get('load_from', None) and '://' not in cfg.load_from:
            fit_state_dict(runner.model, read_state_dict(cfg.load_from),
                           cfg.load_from, for_training=True)
        runner.train()


if __name__ == '__main__':
    try:
        main()
    except UserFacingError as error:  # a bad file or run: one line
        raise SystemExit(error.one_line())
