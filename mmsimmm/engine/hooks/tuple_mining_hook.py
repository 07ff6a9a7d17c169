"""Hard-negative re-mining of retrieval tuples with the current model."""
from typing import List, Optional

import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmsimmm.registry import HOOKS


def _unwrap(module):
    from mmengine.model import is_model_wrapper
    return module.module if is_model_wrapper(module) else module


def retrieval_model(model):
    """The model that describes images: SMM's task model, or the model."""
    model = _unwrap(model)
    return _unwrap(getattr(model, 'task_model', model))


def tuple_dataset(dataloader):
    """The dataset of ``dataloader`` that can :meth:`mine` (through dataset
    wrappers)."""
    dataset = getattr(dataloader, 'dataset', None)
    while dataset is not None and not hasattr(dataset, 'mine'):
        dataset = getattr(dataset, 'dataset', None)
    if dataset is None:
        raise TypeError('TupleMiningHook: the train dataloader\'s dataset '
                        'cannot mine tuples (use mmsimmm.SfM120kTupleDataset)')
    return dataset


@HOOKS.register_module()
class TupleMiningHook(Hook):
    """Asks the tuple dataset for a new round of tuples, its negatives mined
    with the current model (eval mode, no gradient, single scale), before
    training and then every ``interval`` steps that train the task model:
    cirtorch's ``create_epoch_tuples`` at every epoch.

    Under ``mmsimmm.TwoPhaseTrainLoop`` only adapt steps count (stage 1 does
    not change the task model, so the tuples mined before training are
    those of stage 2's first round).

    Args:
        interval: task-model steps per round; ``None``: one pass over the
            tuples (dataset length // batch size, at least 1).
    """
    priority = 'NORMAL'

    def __init__(self, interval: Optional[int] = None):
        if interval is not None and interval < 1:
            raise ValueError(f'TupleMiningHook: interval must be >= 1, got '
                             f'{interval}')
        self.interval = interval
        self._task_steps_before: Optional[List[int]] = None

    def before_train(self, runner) -> None:
        dataset = tuple_dataset(runner.train_dataloader)
        if self.interval is None:
            batch = runner.train_dataloader.batch_size or 1
            self.interval = max(1, len(dataset) // batch)
        self.mine(runner, round_index=self._task_steps(runner, runner.iter) //
                  self.interval)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        loop = runner.train_loop
        if hasattr(loop, 'phase_of') and loop.phase_of(batch_idx) != 'adapt':
            return
        steps = self._task_steps(runner, batch_idx + 1)
        if steps % self.interval == 0 and batch_idx + 1 < loop.max_iters:
            self.mine(runner, round_index=steps // self.interval)

    def _task_steps(self, runner, iterations: int) -> int:
        """Steps that trained the task model among the first
        ``iterations``."""
        plan = getattr(runner.train_loop, 'plan', None)
        if plan is None:
            return iterations
        if self._task_steps_before is None:  # cumulative adapt counts
            counts, total = [0], 0
            for phase in plan:
                total += phase == 'adapt'
                counts.append(total)
            self._task_steps_before = counts
        return self._task_steps_before[min(iterations, len(plan))]

    def mine(self, runner, round_index: int) -> float:
        dataset = tuple_dataset(runner.train_dataloader)
        model = retrieval_model(runner.model)
        was_training = model.training
        model.eval()

        @torch.no_grad()
        def describe(batch):
            data = model.data_preprocessor(pseudo_collate(batch), False)
            return model.extract_descriptors(data['inputs'],
                                             data['data_samples'])

        try:
            distance = dataset.mine(describe, round_index=round_index)
        finally:
            model.train(was_training)
        print_log(f'TupleMiningHook: round {round_index} of tuples mined '
                  f'at iteration {runner.iter}; mean query-negative '
                  f'distance {distance:.3f}', logger='current')
        return distance
