"""Validation / test over several datasets in one run (e.g. Dark Zurich val and
Nighttime Driving test), one evaluator each, metrics merged."""
from typing import Dict, List, Sequence, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.runner.amp import autocast
from mmengine.runner.loops import BaseLoop
from torch.utils.data import DataLoader

from mmsimmm.registry import LOOPS


class _MultiDatasetLoop(BaseLoop):
    """Runs ``dataloader[i]`` through ``evaluator[i]`` for each i.

    ``val_dataloader`` / ``test_dataloader`` are lists of dataloader configs
    and ``val_evaluator`` / ``test_evaluator`` lists of the same length (each
    item an evaluator config: a metric dict or a list of them). Give every
    metric a distinct ``prefix`` (e.g. ``'dark_zurich'``) so the merged keys
    say which dataset they belong to; duplicate keys are an error.
    """
    stage = 'val'

    def __init__(self,
                 runner,
                 dataloader: Sequence[Union[DataLoader, Dict]],
                 evaluator: Sequence[Union[Evaluator, Dict, List]],
                 fp16: bool = False):
        if not isinstance(dataloader, (list, tuple)) or not isinstance(
                evaluator, (list, tuple)):
            raise TypeError(
                f'{type(self).__name__}: {self.stage}_dataloader and '
                f'{self.stage}_evaluator must be lists (one item per dataset)')
        if len(dataloader) != len(evaluator):
            raise ValueError(
                f'{type(self).__name__}: {len(dataloader)} dataloaders but '
                f'{len(evaluator)} evaluators in {self.stage}_evaluator')
        super().__init__(runner, dataloader[0])
        self.dataloaders = [self.dataloader] + [
            runner.build_dataloader(cfg, seed=runner.seed)
            if isinstance(cfg, dict) else cfg for cfg in dataloader[1:]
        ]
        self.evaluators = [runner.build_evaluator(e) for e in evaluator]
        self.evaluator = self.evaluators[0]
        for loader, ev in zip(self.dataloaders, self.evaluators):
            ev.dataset_meta = getattr(loader.dataset, 'metainfo', None)
        if hasattr(self.dataloader.dataset, 'metainfo'):
            runner.visualizer.dataset_meta = self.dataloader.dataset.metainfo
        self.fp16 = fp16

    def run(self) -> dict:
        stage = self.stage
        self.runner.call_hook(f'before_{stage}')
        self.runner.call_hook(f'before_{stage}_epoch')
        self.runner.model.eval()
        metrics = {}
        for loader, evaluator in zip(self.dataloaders, self.evaluators):
            for idx, data_batch in enumerate(loader):
                self.run_iter(idx, data_batch, evaluator)
            results = evaluator.evaluate(len(loader.dataset))
            clash = set(results) & set(metrics)
            if clash:
                raise KeyError(
                    f'{type(self).__name__}: metric {sorted(clash)[0]!r} '
                    'comes from two datasets; give each metric a prefix')
            metrics.update(results)
        self.runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{stage}')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch, evaluator: Evaluator) -> None:
        stage = self.stage
        self.runner.call_hook(
            f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            step = getattr(self.runner.model, f'{stage}_step')
            outputs = step(data_batch)
        evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            f'after_{stage}_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)


@LOOPS.register_module()
class MultiDatasetValLoop(_MultiDatasetLoop):
    stage = 'val'


@LOOPS.register_module()
class MultiDatasetTestLoop(_MultiDatasetLoop):
    stage = 'test'
