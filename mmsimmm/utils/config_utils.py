"""Config helpers shared by tools/train.py, tools/test.py and the demo."""
import argparse
import os
import os.path as osp
from typing import Iterable, List

from mmengine.config import Config, DictAction

PARTS_CONSTRUCTOR = 'SimMinMaxOptimWrapperConstructor'


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments tools/train.py and tools/test.py share (OpenMMLab style)."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
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


def load_config(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the shared arguments applied; the
    work dir defaults to ``./work_dirs/<config name>``."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def enable_amp(cfg: Config) -> None:
    """Turn every optimiser wrapper of ``cfg`` into an ``AmpOptimWrapper``
    (each part of an SMM ``OptimWrapperDict`` separately: the dict itself
    cannot step)."""
    optim_wrapper = cfg.optim_wrapper
    if str(optim_wrapper.get('constructor', '')).endswith(PARTS_CONSTRUCTOR):
        parts = [
            v for k, v in optim_wrapper.items()
            if k not in ('constructor', 'paramwise_cfg')
        ]
    else:
        parts = [optim_wrapper]
    for part in parts:
        part['type'] = 'AmpOptimWrapper'
        part.setdefault('loss_scale', 'dynamic')


def _dataset_paths(dataset: dict) -> List[str]:
    """Directories a dataset config reads (recursing into wrappers)."""
    if not isinstance(dataset, dict):
        return []
    nested = dataset.get('datasets', None) or (
        [dataset['dataset']] if 'dataset' in dataset else [])
    if nested:
        return [p for d in nested for p in _dataset_paths(d)]
    root = dataset.get('data_root', '') or ''
    if '://' in root:  # remote storage: not checked
        return []
    prefixes = dataset.get('data_prefix', {}) or {}
    if isinstance(prefixes, str):  # mmpretrain's data_prefix='train'
        prefixes = dict(img_path=prefixes)
    paths = [
        osp.join(root, p) for p in prefixes.values()
        if isinstance(p, str) and p and '://' not in p
    ]
    if dataset.get('ann_file'):
        paths.append(osp.join(root, dataset['ann_file']))
    return paths or ([root] if root else [])


def _holds_files(directory: str) -> bool:
    """Whether any file lies under ``directory`` (stops at the first)."""
    return any(files for _, _, files in os.walk(directory))


def check_data_paths(cfg: Config, keys: Iterable[str]) -> None:
    """Fail with one line naming the first missing data path (or
    ``load_from`` checkpoint) before any work is done; a Runner would fail
    deep inside a dataset instead."""
    for key in keys:
        loaders = cfg.get(key, None)
        if loaders is None:
            continue
        for loader in loaders if isinstance(loaders, list) else [loaders]:
            for path in _dataset_paths(loader.get('dataset', {})):
                if not osp.exists(path):
                    raise SystemExit(
                        f'{key}: data path not found: {path} (lay the '
                        'dataset out as its library documents, see README '
                        "'Datasets', or override data_root)")
                if osp.isdir(path) and not _holds_files(path):
                    raise SystemExit(f'{key}: data path holds no files: '
                                     f'{path}')
    load_from = cfg.get('load_from', None)
    if load_from and not osp.isfile(load_from) and '://' not in load_from:
        raise SystemExit(f'load_from: checkpoint not found: {load_from}')


def add_dump_results(cfg: Config, out_file: str) -> None:
    """Dump test predictions with mmengine's ``DumpResults``; with several
    test sets each gets ``<out>.<index>.pkl``."""
    evaluators = cfg.test_evaluator
    multi = str(cfg.test_cfg.get('type', '')).endswith('MultiDatasetTestLoop')
    if not multi:
        evaluators = [evaluators]
    stem, ext = osp.splitext(out_file)
    dumped = []
    for index, evaluator in enumerate(evaluators):
        path = f'{stem}.{index}{ext or ".pkl"}' if multi else out_file
        dump = dict(type='DumpResults', out_file_path=path)
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        dumped.append(list(metrics) + [dump])
    cfg.test_evaluator = dumped if multi else dumped[0]
