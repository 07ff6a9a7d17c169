"""Config helpers shared by tools/train.py, tools/test.py and the demo."""
import os.path as osp
from typing import Iterable, List

from mmengine.config import Config

PARTS_CONSTRUCTOR = 'SimMinMaxOptimWrapperConstructor'


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
    prefixes = dataset.get('data_prefix', {}) or {}
    paths = [osp.join(root, p) for p in prefixes.values() if p]
    if dataset.get('ann_file'):
        paths.append(osp.join(root, dataset['ann_file']))
    return paths or ([root] if root else [])


def check_data_paths(cfg: Config, keys: Iterable[str]) -> None:
    """Fail with one line naming the first missing data path, before any
    work is done (a Runner would fail deep inside a dataset instead)."""
    for key in keys:
        loaders = cfg.get(key, None)
        if loaders is None:
            continue
        for loader in loaders if isinstance(loaders, list) else [loaders]:
            for path in _dataset_paths(loader.get('dataset', {})):
                if not osp.exists(path):
                    raise SystemExit(
                        f'{key}: data path not found: {path} (lay the '
                        'dataset out as mmseg documents, see README '
                        "'Datasets', or override data_root)")


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
