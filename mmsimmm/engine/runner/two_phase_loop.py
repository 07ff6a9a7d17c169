"""The train loop of SMM: darken (stage 1) and adapt (stage 2) iterations."""
from typing import Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader

from mmsimmm.registry import LOOPS
from mmsimmm.models.algorithms.sim_min_max import PHASE_KEY

SCHEDULES = ('sequential', 'alternating')


def phase_plan(darken_iters: int,
               adapt_iters: int,
               schedule: str = 'sequential',
               darken_steps_per_adapt: int = 1) -> List[str]:
    """The phase of every iteration.

    ``sequential``: all darken iterations, then all adapt iterations (the
    paper's default). ``alternating``: ``darken_steps_per_adapt`` darken
    steps per adapt step (the paper's GAN-like variant) until one budget is
    spent, then the rest of the other.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"TwoPhaseTrainLoop: schedule '{schedule}' is not "
                         f'one of {SCHEDULES}')
    if darken_iters < 0 or adapt_iters < 0:
        raise ValueError('TwoPhaseTrainLoop: darken_iters and adapt_iters '
                         f'must be >= 0, got {darken_iters}, {adapt_iters}')
    if schedule == 'sequential':
        return ['darken'] * darken_iters + ['adapt'] * adapt_iters
    if darken_steps_per_adapt < 1:
        raise ValueError('TwoPhaseTrainLoop: darken_steps_per_adapt must be '
                         f'>= 1, got {darken_steps_per_adapt}')
    plan, darken_left, adapt_left = [], darken_iters, adapt_iters
    while darken_left or adapt_left:
        steps = min(darken_steps_per_adapt, darken_left)
        plan += ['darken'] * steps
        darken_left -= steps
        if adapt_left:
            plan.append('adapt')
            adapt_left -= 1
        if not adapt_left:
            plan += ['darken'] * darken_left
            darken_left = 0
    return plan


def _check_scheduler_keys(runner) -> None:
    """mmengine indexes a keyed ``param_scheduler`` by every optimiser name
    and fails with a bare ``KeyError``; say which key is missing instead."""
    schedulers = getattr(runner, 'param_schedulers', None)
    model = getattr(runner.model, 'module', runner.model)
    parts = getattr(model, 'optim_parts', None)
    if not isinstance(schedulers, dict) or 'type' in schedulers or not parts:
        return
    missing = sorted(set(parts) - set(schedulers))
    if missing:
        raise KeyError(f"param_scheduler has no entry for '{missing[0]}' "
                       f'(keys must be {sorted(parts)}; use [] for none)')


class _PhaseDispatchIterator:
    """Yields the next batch of the dataloader of the phase of the
    ``position``-th iteration. mmengine's resume skip calls ``next`` once per
    trained iteration, so each phase's loader is advanced exactly as far as
    it had been."""

    def __init__(self, plan: Sequence[str], iterators: Dict[str, object]):
        self.plan = plan
        self.iterators = iterators
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self):
        phase = self.plan[min(self.position, len(self.plan) - 1)]
        self.position += 1
        return next(self.iterators[phase])


@LOOPS.register_module()
class TwoPhaseTrainLoop(IterBasedTrainLoop):
    """Iteration-based loop over the two phases of Similarity Min-Max.

    The phase of an iteration is a pure function of its index (see
    :func:`phase_plan`) and is published in the ``MessageHub`` under
    ``'smm_phase'`` before each step, so ``--resume`` continues in the right
    phase; resume skip, validation interval and ``stop_training`` are
    mmengine's.

    Args:
        dataloader: the train dataloader (adapt phase; also darken phase
            unless ``darken_dataloader`` is given).
        darken_iters / adapt_iters: iterations of stage 1 / stage 2.
        schedule: ``'sequential'`` or ``'alternating'``.
        darken_steps_per_adapt: k of the alternating schedule.
        darken_dataloader: optional dataloader (config) for stage 1, e.g.
            another batch size or crop.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 darken_iters: int,
                 adapt_iters: int,
                 schedule: str = 'sequential',
                 darken_steps_per_adapt: int = 1,
                 darken_dataloader: Optional[Union[DataLoader, Dict]] = None,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals=None):
        self.plan = phase_plan(darken_iters, adapt_iters, schedule,
                               darken_steps_per_adapt)
        if not self.plan:
            raise ValueError('TwoPhaseTrainLoop: darken_iters + adapt_iters '
                             'must be > 0')
        self.darken_iters, self.adapt_iters = darken_iters, adapt_iters
        self.schedule = schedule
        _check_scheduler_keys(runner)
        super().__init__(runner, dataloader, len(self.plan), val_begin,
                         val_interval, dynamic_intervals)
        iterators = dict(adapt=self.dataloader_iterator,
                         darken=self.dataloader_iterator)
        self.darken_dataloader = None
        if darken_dataloader is not None:
            if isinstance(darken_dataloader, dict):
                diff_rank_seed = runner._randomness_cfg.get(
                    'diff_rank_seed', False)
                darken_dataloader = runner.build_dataloader(
                    darken_dataloader,
                    seed=runner.seed,
                    diff_rank_seed=diff_rank_seed)
            self.darken_dataloader = darken_dataloader
            iterators['darken'] = _InfiniteDataloaderIterator(
                darken_dataloader)
        self.dataloader_iterator = _PhaseDispatchIterator(
            self.plan, iterators)

    def phase_of(self, iteration: int) -> str:
        return self.plan[min(iteration, len(self.plan) - 1)]

    @property
    def phase(self) -> str:
        return self.phase_of(self._iter)

    def run_iter(self, data_batch) -> None:
        message_hub = self.runner.message_hub
        message_hub.update_info('iter', self._iter)
        message_hub.update_info(PHASE_KEY, self.phase)
        if self.schedule == 'sequential' and (
                self._iter == 0 or self.phase_of(self._iter - 1) != self.phase):
            print_log(f'TwoPhaseTrainLoop: {self.phase} phase from iteration '
                      f'{self._iter}', logger='current')
        super().run_iter(data_batch)
