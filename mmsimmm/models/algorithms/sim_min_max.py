"""Similarity Min-Max (Luo et al., ICCV 2023) as an mmengine ``BaseModel``."""
import logging
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel, ExponentialMovingAverage
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import Tensor

from mmsimmm.registry import MODELS, TASK_ADAPTERS
from ..losses import feature_similarity
from ..task_adapters import BaseTaskAdapter, flatten_features, unwrap
from ..task_adapters.selection import task_adapter_cfg
from ..utils import FeatureRecorder, quantize_8bit
from .neck_check import byol_tap_channels, check_byol_necks

PHASE_KEY = 'smm_phase'
PHASES = ('darken', 'adapt')
SECOND_VIEW_KEY = 'second_view'  # preprocessed second view of a batch
DEFAULT_DARKEN_LOSSES = dict(
    similarity=dict(type='mmsimmm.FeatureSimilarityLoss', loss_weight=0.1),
    tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
    color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
    exposure=dict(type='mmsimmm.ExposureLoss', patch_size=1, loss_weight=10.0),
    flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=1.0))


def with_preprocessor(task_model: dict,
                      data_preprocessor: Optional[dict]) -> dict:
    """The task model config, given ``data_preprocessor`` if it has none
    (mmpretrain and mmaction2 configs keep it at the top level, untyped; the
    Runner merges it into the outer model, this wrapper). A task model
    config with its own keeps it (mmseg configs repeat the same dict)."""
    if data_preprocessor is None:
        return task_model
    own = task_model.get('data_preprocessor', None)
    if own is None:
        return type(task_model)(task_model,
                                data_preprocessor=data_preprocessor)
    if dict(own) != dict(data_preprocessor):
        print_log(
            'SimMinMax: task_model.data_preprocessor differs from the '
            "config's data_preprocessor; the task model's is used",
            logger='current', level=logging.WARNING)
    return task_model


@contextmanager
def frozen(module: nn.Module):
    """Eval mode and no parameter gradients inside; restored on exit.
    Gradients still flow *through* the module to its inputs."""
    flags = [p.requires_grad for p in module.parameters()]
    was_training = module.training
    module.eval()
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for param, flag in zip(module.parameters(), flags):
            param.requires_grad_(flag)
        module.train(was_training)


@MODELS.register_module()
class SimMinMax(BaseModel):
    """Zero-shot day-night adaptation by Similarity Min-Max.

    ``train_step`` runs the phase the train loop published in the
    ``MessageHub`` (see :class:`TwoPhaseTrainLoop`):

    * ``darken`` (stage 1): the darkener D minimises the similarity of the
      frozen task model's features of I and D(I, E), E ~ U(0, 0.5), under the
      realism losses; gradients flow through F (eval mode) into D.
    * ``adapt`` (stage 2): D is fixed; F learns its task on the day view and
      the darkened view D(I, E') and keeps the two similar with symmetric
      BYOL against an EMA target.

    Args:
        task_model: the downstream model config (e.g. an mmseg
            ``EncoderDecoder`` with ``_scope_='mmseg'``), built unmodified.
        darkener: config of D.
        task_adapter: config of the adapter of the task's library; without
            a ``type`` (or ``None``), the adapter registered for the task
            model's library (``task_models`` of the adapters).
        projector / predictor: BYOL neck configs; ``None`` disables L_F^sim.
        darken_losses: dict of named stage-1 losses; omit a name to ablate it
            (``similarity`` is L_D^sim).
        darken_exposure_range: range of the per-sample exposure E of stage 1.
        night_exposure: config of the stage-2 exposure-map sampler.
        byol_loss: config of the BYOL loss, applied per direction and summed.
        dark_noise: optional noise model applied to D's output in stage 2
            (e.g. ``dict(type='mmsimmm.LowLightSensorNoise')``; not in the
            paper: a curve cannot produce the sensor noise of night photos).
        quantize_dark: round the darkened view to 8 bits before F sees it,
            as the reference does (after ``dark_noise``).
        exposure_error_warning: warn at the switch to stage 2 when D's mean
            brightness still misses the requested exposure by more than this
            (smoothed ``darken.exposure_error``): stage 1 too short.
        ema_momentum: mmengine convention (1 - paper's 0.99).
        task_loss_scale: factor on the task losses of the 2-view batch.
            mmseg/mmpretrain average over the batch, so 2 gives the paper's
            CE(day) + CE(night) exactly (both views share labels).
        seed: base of the per-iteration random generator; ``None`` takes
            torch's initial seed (the runner's seed), so resume is exact.
        data_preprocessor: the task model's, where its library's configs
            keep it at the top level (mmpretrain, mmaction2; the Runner
            passes it here): it is given to a task model config without
            one. SMM always runs the task model's own preprocessor.
    """
    optim_parts = dict(
        darkener=('darkener', ), task=('task_model', 'projector', 'predictor'))

    def __init__(self,
                 task_model: dict,
                 darkener: dict = dict(type='mmsimmm.CurveDarkener'),
                 task_adapter: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 predictor: Optional[dict] = None,
                 darken_losses: Optional[dict] = None,
                 darken_exposure_range: Tuple[float, float] = (0.0, 0.5),
                 night_exposure: dict = dict(
                     type='mmsimmm.NightExposureSampler', patch_size=64),
                 byol_loss: dict = dict(type='mmsimmm.BYOLLoss',
                                        loss_weight=0.1),
                 dark_noise: Optional[dict] = None,
                 quantize_dark: bool = False,
                 exposure_error_warning: float = 0.05,
                 ema_momentum: float = 0.01,
                 task_loss_scale: float = 2.0,
                 seed: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.task_model = MODELS.build(
            with_preprocessor(task_model, data_preprocessor))
        self.data_preprocessor = self.task_model.data_preprocessor
        self.darkener = MODELS.build(darkener)
        # adapters live only in mmsimmm's registry, whatever the default scope
        self.task_adapter: BaseTaskAdapter = TASK_ADAPTERS.build(
            dict(task_adapter_cfg(task_adapter, self.task_model),
                 _scope_='mmsimmm'))
        # the built preprocessor only knows "swaps channels", not which way
        self.task_adapter.set_preprocessor_cfg(
            with_preprocessor(task_model, data_preprocessor).get(
                'data_preprocessor'))
        if (projector is None) != (predictor is None):
            raise ValueError('SimMinMax: give both projector and predictor '
                             '(BYOL) or neither')
        if projector and 'in_channels' not in projector:
            channels = byol_tap_channels(self.task_model, self.task_adapter)
            projector = dict(
                projector,
                in_channels=channels[0] if len(channels) == 1 else channels)
        self.projector = MODELS.build(projector) if projector else None
        self.predictor = MODELS.build(predictor) if predictor else None
        losses = DEFAULT_DARKEN_LOSSES if darken_losses is None else \
            darken_losses
        unknown = set(losses) - set(DEFAULT_DARKEN_LOSSES)
        if unknown:
            raise KeyError(f'SimMinMax.darken_losses: unknown term '
                           f"'{sorted(unknown)[0]}' (known: "
                           f'{", ".join(DEFAULT_DARKEN_LOSSES)})')
        self.darken_losses = nn.ModuleDict(
            {name: MODELS.build(cfg)
             for name, cfg in losses.items()})
        self.darken_exposure_range = tuple(darken_exposure_range)
        self.night_exposure = MODELS.build(night_exposure)
        self.byol_loss = MODELS.build(byol_loss)
        self.dark_noise = MODELS.build(dark_noise) if dark_noise else None
        self.exposure_error_warning = exposure_error_warning
        self._exposure_error = None  # smoothed darken.exposure_error
        self._darken_streak = 0
        self.quantize_dark = quantize_dark
        self.task_loss_scale = task_loss_scale
        self.seed = torch.initial_seed() if seed is None else int(seed)
        self.target = None
        if self.projector is not None:
            self.target = ExponentialMovingAverage(
                self._online_encoder(), momentum=ema_momentum)
            # the target only runs forward (no_grad): channels-last convs
            # are faster on CPU and CUDA and compute the same values
            # (4-d weights only: video backbones keep their 5-d ones)
            if not any(p.dim() == 5 for p in self.target.parameters()):
                self.target.module.to(memory_format=torch.channels_last)
        # A plain task-model checkpoint (load_from of a day-trained model)
        # loads into task_model and re-syncs the EMA target.
        self._register_load_state_dict_pre_hook(self._adopt_task_checkpoint)
        if self.projector is not None:
            # a wrong in_channels would otherwise fail after all of stage 1
            check_byol_necks(self)

    # ------------------------------------------------------------------ EMA
    def _online_encoder(self) -> nn.ModuleDict:
        """The online BYOL encoder: the task model's encoder modules and the
        projector (built on the fly: registering them twice would duplicate
        their weights in the state dict)."""
        online = self.task_adapter.encoder_dict(self.task_model)
        online['projector'] = unwrap(self.projector)
        return online

    @torch.no_grad()
    def sync_target(self) -> None:
        """Copy the online encoder + projector into the EMA target; needed
        after pretrained weights are loaded into the task model."""
        if self.target is not None:
            self.target.module.load_state_dict(
                self._online_encoder().state_dict())

    def init_weights(self):
        super().init_weights()
        self.sync_target()

    def _adopt_task_checkpoint(self, state_dict, prefix, *args):
        if prefix or any(k.startswith('task_model.') for k in state_dict):
            return
        task_keys = set(unwrap(self.task_model).state_dict())
        if not task_keys & set(state_dict):
            return
        print_log(
            'SimMinMax: the checkpoint holds a plain task model; loading it '
            'into task_model, keeping the darkener and BYOL necks, and '
            're-syncing the EMA target.', logger='current')
        adopted = {f'task_model.{k}': v for k, v in state_dict.items()}
        own = self.state_dict()
        if self.target is not None:  # target encoder := loaded task encoder
            adapter = self.task_adapter
            for path in adapter.encoder_modules:
                source = f'task_model.{path}.'
                target = f'target.module.{adapter.encoder_key(path)}.'
                adopted.update({
                    target + k[len(source):]: v
                    for k, v in list(adopted.items()) if k.startswith(source)
                })
        for key, value in own.items():
            adopted.setdefault(key, value)
        state_dict.clear()
        state_dict.update(adopted)

    # ------------------------------------------------------------ train step
    def current_phase(self) -> str:
        phase = MessageHub.get_current_instance().get_info(PHASE_KEY)
        if phase not in PHASES:
            raise RuntimeError(
                f"SimMinMax: MessageHub info '{PHASE_KEY}' is {phase!r}, not "
                f'one of {PHASES}; train with mmsimmm.TwoPhaseTrainLoop')
        return phase

    def _generator(self, device: torch.device) -> torch.Generator:
        """Randomness of one step as a function of (seed, iteration, rank):
        an interrupted and resumed run draws the same exposures, and each
        process of a distributed run draws its own."""
        iteration = MessageHub.get_current_instance().get_info('iter', 0)
        generator = torch.Generator(device=device)
        generator.manual_seed(
            ((self.seed * 1000003 + iteration) * 65537 + get_rank()) %
            (2**63))
        return generator

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        phase = self.current_phase()
        data = self._preprocess(data)
        if phase == 'darken':
            return self._darken_step(data, optim_wrapper['darkener'])
        return self._adapt_step(data, optim_wrapper['task'])

    def _preprocess(self, data: Union[dict, tuple, list]) -> dict:
        """The task preprocessor's batch. A batch holding two augmented
        views of each image (e.g. mmpretrain's ``MultiView`` + ``PackInputs``,
        see ``BaseTaskAdapter.split_view_batch``) gives the first view as
        ``inputs`` and the second under ``SECOND_VIEW_KEY``: stage 1 uses the
        first, stage 2 darkens the second."""
        views = self.task_adapter.split_view_batch(data)
        if views is None:
            return self.data_preprocessor(data, True)
        if len(views) != 2:
            raise ValueError(f'SimMinMax: the batch holds {len(views)} views '
                             'of each image; SMM takes 1 or 2')
        first, second = (self.data_preprocessor(v, True) for v in views)
        first[SECOND_VIEW_KEY] = second['inputs']
        return first

    def _darken_step(self, data: dict,
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        adapter = self.task_adapter
        inputs = data['inputs']
        day = adapter.to_unit_rgb(self.data_preprocessor, inputs)
        low, high = self.darken_exposure_range
        exposure = low + (high - low) * torch.rand(
            day.shape[0], device=day.device,
            generator=self._generator(day.device))
        task_model = unwrap(self.task_model)
        with frozen(task_model), FeatureRecorder(task_model,
                                                 adapter.darken_taps) as rec:
            with torch.no_grad():
                adapter.extract_features(task_model, inputs)
                day_features = self._tapped(rec)
            with optim_wrapper.optim_context(self.darkener):
                dark, alpha, beta = self.darkener(
                    day, exposure, return_curves=True)
                dark_inputs = adapter.from_unit_rgb(self.data_preprocessor,
                                                    dark, inputs)
                adapter.extract_features(task_model, dark_inputs)
                dark_features = self._tapped(rec)
                losses = self._darken_losses(dark, alpha, beta, exposure,
                                             day_features, dark_features)
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def _tapped(self, recorder: FeatureRecorder) -> List[Tensor]:
        return [
            f for tap in self.task_adapter.darken_taps
            for f in flatten_features(recorder[tap])
        ]

    def _darken_losses(self, dark, alpha, beta, exposure, day_features,
                       dark_features) -> Dict[str, Tensor]:
        terms = self.darken_losses
        losses = {}
        if 'similarity' in terms:
            losses['darken.loss_sim'] = terms['similarity'](day_features,
                                                            dark_features)
        if 'tv' in terms:
            losses['darken.loss_tv'] = terms['tv'](alpha)
        if 'color' in terms:
            losses['darken.loss_color'] = terms['color'](dark)
        if 'exposure' in terms:
            losses['darken.loss_exposure'] = terms['exposure'](dark, exposure)
        if 'flexibility' in terms:
            losses['darken.loss_flex'] = terms['flexibility'](beta)
        with torch.no_grad():  # logged even when L_D^sim is ablated
            losses['darken.similarity'] = feature_similarity(
                day_features, dark_features)
        losses['darken.dark_mean'] = dark.detach().mean()
        # how far D's brightness is from the exposure it was asked for: the
        # stage-2 views are only as dark as D has learnt to make them
        error = (dark.detach().mean(dim=(1, 2, 3)) - exposure).abs().mean()
        losses['darken.exposure_error'] = error
        self._track_exposure_error(error)
        return losses

    def _track_exposure_error(self, error: Tensor) -> None:
        # kept as a tensor: no host sync in the training step
        previous = self._exposure_error
        self._exposure_error = error if previous is None else \
            0.9 * previous + 0.1 * error
        self._darken_streak += 1

    def _warn_if_darkener_untrained(self) -> None:
        """At an adapt step that ends a whole stage 1 (at least 20 darken
        steps in a row in this process: the sequential switch, not the
        steps of an alternating schedule)."""
        error, streak = self._exposure_error, self._darken_streak
        self._exposure_error, self._darken_streak = None, 0
        error = float(error) if error is not None else 0.0  # one host sync
        if streak >= 20 and error > self.exposure_error_warning:
            print_log(
                f'SimMinMax: at the end of stage 1 the darkener misses its '
                f'exposure input by {error:.3f} on average (mean brightness '
                f'vs E); its stage-2 views are brighter than asked: stage 1 '
                f'is probably too short, raise darken_iters',
                logger='current', level=logging.WARNING)

    def _adapt_step(self, data: dict,
                    optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        if self._darken_streak:
            self._warn_if_darkener_untrained()
        adapter = self.task_adapter
        inputs, data_samples = data['inputs'], data['data_samples']
        # a two-view batch darkens its second view, else the day view itself
        # (the adapter may pick a part of it: the queries of retrieval tuples)
        to_darken = adapter.images_to_darken(data.get(SECOND_VIEW_KEY, inputs),
                                             data_samples)
        with torch.no_grad():
            day = adapter.to_unit_rgb(self.data_preprocessor, to_darken)
            dark = self.darken_view(
                day, self._generator(day.device),
                frames_per_exposure=adapter.frames_per_exposure(to_darken))
            dark_inputs = adapter.from_unit_rgb(self.data_preprocessor, dark,
                                                to_darken)
        batch, batch_samples = adapter.adapt_batch(inputs, dark_inputs,
                                                   data_samples)
        task_model = unwrap(self.task_model)
        with optim_wrapper.optim_context(self.task_model):
            with FeatureRecorder(task_model, adapter.online_tap) as rec:
                task_losses = adapter.task_loss(self.task_model, batch,
                                                batch_samples)
            losses = {
                f'adapt.{k}': v * self.task_loss_scale if 'loss' in k else v
                for k, v in task_losses.items()
            }
            if self.projector is not None:
                online = flatten_features(rec[adapter.online_tap])
                losses.update(self._byol_losses(online, batch))
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        if self.target is not None:
            self.target.update_parameters(self._online_encoder())
        return log_vars

    @torch.no_grad()
    def darken_view(self, day: Tensor,
                    generator: Optional[torch.Generator] = None,
                    frames_per_exposure: int = 1) -> Tensor:
        """The stage-2 darkened view of RGB images in [0, 1]: D(I, E'),
        then the optional sensor noise and 8-bit quantisation. Each run of
        ``frames_per_exposure`` consecutive images (the frames of one clip)
        shares one exposure map, so a clip is darkened consistently."""
        size = day.shape[-2:]
        # E' is sampled where D reads it, keeping its per-pixel sigma
        estimation_size = getattr(self.darkener, 'estimation_size', None)
        out_size = estimation_size(size) if estimation_size else size
        exposure = self.night_exposure(
            day.shape[0] // frames_per_exposure, size, day.device, generator,
            out_size=out_size).repeat_interleave(frames_per_exposure, dim=0)
        dark = self.darkener(day, exposure)
        if self.dark_noise is not None:
            dark = self.dark_noise(dark, generator)
        if self.quantize_dark:
            dark = quantize_8bit(dark)
        return dark

    def _byol_losses(self, online: List[Tensor],
                     both: Tensor) -> Dict[str, Tensor]:
        predictions = self.predictor(self.projector(online))
        # inference mode skips autograd bookkeeping (a few % of the target
        # forward); the small (2B, 128) outputs are cloned back into normal
        # tensors because the loss saves them for the backward of p
        with torch.inference_mode():
            target = self.target.module
            if both.dim() == 4:
                both = both.contiguous(memory_format=torch.channels_last)
            targets = target['projector'](
                self.task_adapter.encode(target, both))
        targets = [z.clone() for z in targets]
        p_day, p_dark = BaseTaskAdapter.split_views(predictions)
        z_day, z_dark = BaseTaskAdapter.split_views(targets)
        per_branch = [
            self.byol_loss(pd, zn) + self.byol_loss(pn, zd)
            for pd, pn, zd, zn in zip(p_day, p_dark, z_day, z_dark)
        ]
        return {'adapt.loss_byol': sum(per_branch) / len(per_branch)}

    # ------------------------------------------------- inference = task model
    def val_step(self, data) -> list:
        return self.task_model.val_step(data)

    def test_step(self, data) -> list:
        return self.task_model.test_step(data)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            raise RuntimeError('SimMinMax trains through train_step() (two '
                               'phases, two optimisers), not forward(loss)')
        return self.task_model(inputs, data_samples, mode=mode)
