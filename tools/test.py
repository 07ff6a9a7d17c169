"""Evaluate a checkpoint (SMM or plain task model) with mmengine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                         [--show-dir DIR] [--cfg-options k=v ...]

CONFIG may be the SMM config or the plain task config it wraps: an SMM
checkpoint then gives its ``task_model.*`` weights. Every weight of the model
must come from the checkpoint (else one line, no evaluation).
"""
import argparse
import os.path as osp

import mmsimmm  # noqa: F401  (version checks + compatibility fixes)
from mmengine.runner import Runner

from mmsimmm.compat import init_cpu_distributed
from mmsimmm.errors import UserFacingError
from mmsimmm.utils import (add_dump_results, add_runner_arguments,
                           check_data_paths, load_config)
from mmsimmm.utils.config_utils import (load_checkpoint_strictly,
                                        one_line_errors)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions here, one folder per test set')
    add_runner_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    # loaded here, checked, instead of mmengine's non-strict load_from
    cfg.load_from = None
    cfg.resume = False
    if args.show_dir:
        # one folder per test set: the day and night renderings of a scene
        # share a file name and would overwrite each other in one folder
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='mmsimmm.TestSetVisualizationHook',
                 out_dir=args.show_dir)
        ]
    if args.out is not None:
        add_dump_results(cfg, args.out)
    check_data_paths(cfg, ('test_dataloader', ))
    init_cpu_distributed(cfg)  # gloo where there is no CUDA
    with one_line_errors(args.config):
        runner = Runner.from_cfg(cfg)
        load_checkpoint_strictly(runner.model, args.checkpoint)
        runner.test()


if __name__ == '__main__':
    try:
        main()
    except UserFacingError as error:  # a bad file or run: one line
        raise SystemExit(error.one_line())
