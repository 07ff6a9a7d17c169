"""Log what the darkener does during SMM training: day / darkened pairs,
the exposure D was asked for against the brightness it gave, and the
day-vs-dark feature similarity of the task model."""
import logging
from typing import Dict

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmsimmm.registry import HOOKS
from mmsimmm.visualization.darkening import (RecordingSampler,
                                             exposure_caption, image_means,
                                             pair_grid, swapped_attributes)
from mmsimmm.visualization.feature_stats import paired_cosine_similarity

TAG = 'smm'


@HOOKS.register_module()
class DarkenVisualizationHook(Hook):
    """Every ``interval`` training iterations (both stages; and at the last
    iteration of each stage of a sequential plan), log through the runner's
    ``Visualizer`` (any backends: ``LocalVisBackend`` files,
    ``TensorboardVisBackend``):

    * image ``smm_pairs_<phase>``: the day / darkened pairs of the first
      ``num_images`` samples (a video: its first frame), each captioned
      with the requested exposure and the darkened mean;
    * scalars ``smm/requested_exposure``, ``smm/dark_mean``,
      ``smm/day_mean``, ``smm/exposure_gap`` (dark mean - requested),
      ``smm/feature_similarity`` and ``smm/feature_similarity_<layer>``
      (the task model's day-vs-dark similarity at the L_D^sim taps, in eval
      mode, the measure of L_D^sim), ``smm/stage`` (1 darken, 2 adapt).

    Runs before each due step, on its batch with the weights it starts
    from, so the darkened views are those the step uses: the same
    per-iteration generator, the stage-1 exposures U(darken_exposure_range)
    (D's output) and the stage-2 views of ``SimMinMax.darken_view`` (E'
    maps, sensor noise, 8-bit). The hook only reads: no gradients, the task
    model's BN statistics are untouched (eval mode), no global RNG drawn.
    Rank 0 only.

    Args:
        interval: iterations between logs.
        num_images: pairs shown and measured (the first of the batch).
        at_phase_end: also log at the last iteration of each stage.
        similarity: compute the feature similarity (two task-model
            forwards of ``num_images`` images each).
    """
    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 num_images: int = 2,
                 at_phase_end: bool = True,
                 similarity: bool = True):
        if interval < 1 or num_images < 1:
            raise ValueError(
                'DarkenVisualizationHook: interval and num_images must be '
                f'>= 1, got interval={interval}, num_images={num_images}')
        self.interval = interval
        self.num_images = num_images
        self.at_phase_end = at_phase_end
        self.similarity = similarity

    @staticmethod
    def _smm_model(runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        return model

    def before_train(self, runner) -> None:
        model = self._smm_model(runner)
        if not all(hasattr(model, name) for name in
                   ('darkener', 'darken_view', 'task_adapter')):
            raise TypeError(
                'DarkenVisualizationHook needs an mmsimmm.SimMinMax model, '
                f'got {type(model).__name__}; remove the hook from '
                'custom_hooks')

    def _due(self, runner) -> bool:
        if self.every_n_train_iters(runner, self.interval):
            return True
        plan = getattr(runner.train_loop, 'plan', None)
        if not self.at_phase_end or plan is None or getattr(
                runner.train_loop, 'schedule', 'sequential') != 'sequential':
            return False
        step = runner.iter
        return step + 1 == len(plan) or (step + 1 < len(plan)
                                         and plan[step] != plan[step + 1])

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if data_batch is None or not self._due(runner) or \
                not is_main_process():
            return
        from mmsimmm.models.algorithms.sim_min_max import PHASE_KEY
        phase = runner.message_hub.get_info(PHASE_KEY)
        if phase not in ('darken', 'adapt'):
            return
        values, grid = self.measure(self._smm_model(runner), data_batch,
                                    phase)
        step = runner.iter + 1
        visualizer = runner.visualizer
        visualizer.add_image(f'{TAG}_pairs_{phase}', grid, step=step)
        visualizer.add_scalars(
            {f'{TAG}/{key}': value
             for key, value in values.items()}, step=step)
        similarity = values.get('feature_similarity')
        print_log(
            f'DarkenVisualizationHook: iter {step} ({phase}): requested '
            f"exposure {values['requested_exposure']:.3f} -> darkened mean "
            f"{values['dark_mean']:.3f} (day {values['day_mean']:.3f})" +
            ('' if similarity is None else
             f'; day-vs-dark feature similarity {similarity:.3f}'),
            logger='current', level=logging.INFO)

    @torch.no_grad()
    def measure(self, model, data_batch: dict, phase: str):
        """Scalars and the pair grid of the darkened views of
        ``data_batch`` in ``phase``, as the step drew them."""
        from mmsimmm.models.algorithms.sim_min_max import SECOND_VIEW_KEY
        adapter = model.task_adapter
        preprocessor = model.data_preprocessor
        data = model._preprocess(data_batch)  # the step's own batch
        day_inputs = data['inputs']
        # stage 2 darkens the second view of a two-view batch
        dark_source = data.get(SECOND_VIEW_KEY, day_inputs)
        count = min(self.num_images, day_inputs.shape[0])  # samples
        generator = model._generator(day_inputs.device)
        if phase == 'darken':
            like = day_inputs[:count]
            day = adapter.to_unit_rgb(preprocessor, like)
            low, high = model.darken_exposure_range
            # the step drew one exposure per frame of the whole batch: keep
            # its draws (frames are ordered sample-major)
            frames = adapter.to_unit_rgb(preprocessor, day_inputs).shape[0]
            exposure = low + (high - low) * torch.rand(
                frames, device=day.device, generator=generator)
            requested = exposure[:day.shape[0]]
            dark = model.darkener(day, requested)
        else:
            # the whole batch, so the maps and noise are the step's own
            recorder = RecordingSampler(model.night_exposure)
            per_map = adapter.frames_per_exposure(dark_source)
            with swapped_attributes(model, night_exposure=recorder):
                dark = model.darken_view(
                    adapter.to_unit_rgb(preprocessor, dark_source),
                    generator, frames_per_exposure=per_map)
            like = dark_source[:count]
            day = adapter.to_unit_rgb(preprocessor, like)
            dark = dark[:day.shape[0]]
            # one map per clip: each frame was asked for its clip's map
            requested = recorder.last.flatten(1).mean(1).repeat_interleave(
                per_map)[:day.shape[0]]
        dark_means, day_means = image_means(dark), image_means(day)
        values = dict(
            requested_exposure=requested.mean().item(),
            dark_mean=dark_means.mean().item(),
            day_mean=day_means.mean().item(),
            stage=1.0 if phase == 'darken' else 2.0)
        values['exposure_gap'] = values['dark_mean'] - values[
            'requested_exposure']
        if self.similarity:
            dark_inputs = adapter.from_unit_rgb(preprocessor, dark, like)
            values.update(self._similarity(model, like, dark_inputs))
        # one row per sample (its first frame for a video)
        rows = torch.arange(count) * (day.shape[0] // count)
        captions = [
            exposure_caption(requested[i].item(), dark_means[i].item())
            for i in rows
        ]
        return values, pair_grid(day[rows], dark[rows], captions)

    @staticmethod
    def _similarity(model, day_inputs, dark_inputs) -> Dict[str, float]:
        from mmsimmm.models.algorithms.sim_min_max import frozen
        from mmsimmm.models.task_adapters import flatten_features, unwrap
        from mmsimmm.models.utils import FeatureRecorder
        adapter = model.task_adapter
        task_model = unwrap(model.task_model)
        both = torch.cat([day_inputs, dark_inputs])
        with frozen(task_model), FeatureRecorder(task_model,
                                                 adapter.darken_taps) as rec:
            adapter.extract_features(task_model, both)
            layers = [(f'{tap}{index}', feature)
                      for tap in adapter.darken_taps for index, feature in
                      enumerate(flatten_features(rec[tap]))]
        per_layer: Dict[str, float] = {}
        for name, feature in layers:
            day, dark = feature.chunk(2)
            per_layer[f'feature_similarity_{name}'] = \
                paired_cosine_similarity(day, dark).mean().item()
        if not per_layer:
            return {}
        mean = sum(per_layer.values()) / len(per_layer)
        return dict(per_layer, feature_similarity=mean)
