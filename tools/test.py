"""Evaluate a checkpoint (SMM or plain task model) with mmengine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                         [--show-dir DIR] [--cfg-options k=v ...]
"""
import argparse
import os
import os.path as osp

import mmsimmm  # noqa: F401  (version checks + compatibility fixes)
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmsimmm.utils import add_dump_results, check_data_paths


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show-dir', help='save painted predictions in this directory')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'tools/test.py: checkpoint not found: '
                         f'{args.checkpoint}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis_hook = cfg.default_hooks.get('visualization')
        if vis_hook is None:
            raise SystemExit('tools/test.py: --show-dir needs a '
                             'default_hooks.visualization entry in the config')
        vis_hook['draw'] = True
        vis_hook['interval'] = 1
        cfg.visualizer['save_dir'] = args.show_dir
        cfg.visualizer.setdefault('vis_backends',
                                  [dict(type='LocalVisBackend')])
    if args.out is not None:
        add_dump_results(cfg, args.out)
    check_data_paths(cfg, ('test_dataloader', ))
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
