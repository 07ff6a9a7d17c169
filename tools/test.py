"""Evaluate a checkpoint (SMM or plain task model) with mmengine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                         [--show-dir DIR] [--cfg-options k=v ...]
"""
import argparse
import os.path as osp

import mmsimmm  # noqa: F401  (version checks + compatibility fixes)
from mmengine.runner import Runner

from mmsimmm.utils import (add_dump_results, add_runner_arguments,
                           check_data_paths, load_config)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show-dir', help='save painted predictions in this directory')
    add_runner_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis_hook = cfg.default_hooks.get('visualization')
        if vis_hook is None:
            raise SystemExit('--show-dir needs default_hooks.visualization '
                             'in the config')
        vis_hook['draw'] = True
        vis_hook['interval'] = 1
        cfg.visualizer['save_dir'] = args.show_dir
    if args.out is not None:
        add_dump_results(cfg, args.out)
    check_data_paths(cfg, ('test_dataloader', ))
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
