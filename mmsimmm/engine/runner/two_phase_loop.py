"""The train loop of SMM: darken (stage 1) and adapt (stage 2) iterations."""
from typing import Dict, List, Optional, Sequence, Union

from mmengine.hooks import ParamSchedulerHook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader

from mmsimmm.registry import HOOKS, LOOPS
from mmsimmm.models.algorithms.sim_min_max import PHASE_KEY

SCHEDULES = ('sequential', 'alternating')
# log scalars both phases write under one name (the summed loss of
# ``parse_losses``, the clipped gradient norm of an ``OptimWrapper``)
SHARED_LOG_SCALARS = ('train/loss', 'train/grad_norm')
# the phase in which each optimiser (param_scheduler key) is stepped
PHASE_OF_PART = dict(darkener='darken', task='adapt')


def phase_plan(darken_iters: int,
               adapt_iters: int,
               schedule: str = 'sequential',
               darken_steps_per_adapt: int = 1) -> List[str]:
    """The phase of every iteration.

    ``sequential``: all darken iterations, then all adapt iterations (the
    paper's default). ``alternating``: ``darken_steps_per_adapt`` darken
    steps before each adapt step (the paper's GAN-like variant), ending on
    an adapt step, so that every darken step can still change F: darken
    steps beyond ``darken_steps_per_adapt * adapt_iters`` run first (a
    warm-up of D), adapt steps beyond the darken budget run last.
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
    warm_up = max(0, darken_iters - darken_steps_per_adapt * adapt_iters)
    plan, darken_left = ['darken'] * warm_up, darken_iters - warm_up
    for _ in range(adapt_iters):
        steps = min(darken_steps_per_adapt, darken_left)
        plan += ['darken'] * steps + ['adapt']
        darken_left -= steps
    return plan


@HOOKS.register_module()
class PhaseParamSchedulerHook(ParamSchedulerHook):
    """Steps each optimiser's schedulers on its own phase's iterations only,
    at the place that step has in the sequential plan: the n-th darken step
    counts as iteration n, the m-th adapt step as ``darken_iters + m``.

    The schedules of a sequential config (darkener from 0, task from
    ``darken_iters``) therefore mean the same under ``alternating``: D's
    learning rate decays after its own k-th step, not after the k-th
    iteration of both phases. :class:`TwoPhaseTrainLoop` installs this hook
    in place of mmengine's ``ParamSchedulerHook`` for ``alternating``.
    Schedulers under keys other than ``darkener`` / ``task`` step every
    iteration.
    """

    def before_train(self, runner) -> None:
        # a fresh run: the task schedulers start where the sequential plan
        # would have them after stage 1 (a resumed run loads their state)
        if runner.iter != 0 or not isinstance(runner.param_schedulers, dict):
            return
        darken_steps = runner.train_loop.darken_iters
        for part, schedulers in runner.param_schedulers.items():
            if PHASE_OF_PART.get(part) == 'adapt':
                for scheduler in schedulers:
                    if not scheduler.by_epoch:
                        for _ in range(darken_steps):
                            scheduler.step()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        schedulers = runner.param_schedulers
        if not isinstance(schedulers, dict):
            return super().after_train_iter(runner, batch_idx, data_batch,
                                            outputs)
        phase = runner.train_loop.phase_of(batch_idx)
        for part, part_schedulers in schedulers.items():
            if PHASE_OF_PART.get(part, phase) != phase:
                continue
            for scheduler in part_schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()


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


def _install_phase_scheduler_hook(runner) -> None:
    """Put :class:`PhaseParamSchedulerHook` in place of mmengine's plain
    ``ParamSchedulerHook`` (same priority)."""
    hooks = runner._hooks
    for index, hook in enumerate(hooks):
        if type(hook) is ParamSchedulerHook:
            phase_hook = PhaseParamSchedulerHook()
            phase_hook.priority = hook.priority
            hooks[index] = phase_hook
            print_log(
                'TwoPhaseTrainLoop: alternating schedule; parameter '
                'schedulers step on their own phase\'s iterations '
                '(PhaseParamSchedulerHook)', logger='current')


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
        val_begin: first iteration (counted from 1) after which validation
            may run; ``None``: after the first adapt step (validating while
            only D trains would re-score an unchanged F).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 darken_iters: int,
                 adapt_iters: int,
                 schedule: str = 'sequential',
                 darken_steps_per_adapt: int = 1,
                 darken_dataloader: Optional[Union[DataLoader, Dict]] = None,
                 val_begin: Optional[int] = None,
                 val_interval: int = 1000,
                 dynamic_intervals=None):
        self.plan = phase_plan(darken_iters, adapt_iters, schedule,
                               darken_steps_per_adapt)
        if not self.plan:
            raise ValueError('TwoPhaseTrainLoop: darken_iters + adapt_iters '
                             'must be > 0')
        self.darken_iters, self.adapt_iters = darken_iters, adapt_iters
        self.schedule = schedule
        self._phase_log_scalars: Dict[str, dict] = {}
        if val_begin is None:
            val_begin = (self.plan.index('adapt') + 1 if adapt_iters else
                         len(self.plan) + 1)
        _check_scheduler_keys(runner)
        super().__init__(runner, dataloader, len(self.plan), val_begin,
                         val_interval, dynamic_intervals)
        if schedule == 'alternating':
            _install_phase_scheduler_hook(runner)
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

    def _swap_phase_log_scalars(self, leaving: str, entering: str) -> None:
        """Logs show each phase's own values: the leaving phase's scalars
        (its ``train/<phase>.*`` keys, the total loss and gradient norm, with
        their smoothing windows) are set aside and the entering phase's
        are put back, so stage 2 never repeats stage 1's last values."""
        scalars = self.runner.message_hub.log_scalars
        stash = self._phase_log_scalars.setdefault(leaving, {})
        for key in list(scalars):
            if key in SHARED_LOG_SCALARS or key.startswith(
                    f'train/{leaving}.'):
                stash[key] = scalars.pop(key)
        scalars.update(self._phase_log_scalars.pop(entering, {}))

    def run_iter(self, data_batch) -> None:
        message_hub = self.runner.message_hub
        message_hub.update_info('iter', self._iter)
        message_hub.update_info(PHASE_KEY, self.phase)
        if self._iter > 0 and self.phase_of(self._iter - 1) != self.phase:
            self._swap_phase_log_scalars(self.phase_of(self._iter - 1),
                                         self.phase)
        if self.schedule == 'sequential' and (
                self._iter == 0 or self.phase_of(self._iter - 1) != self.phase):
            print_log(f'TwoPhaseTrainLoop: {self.phase} phase from iteration '
                      f'{self._iter}', logger='current')
        super().run_iter(data_batch)
