"""Painted test predictions, one folder per test set (``tools/test.py
--show-dir``): day and night renderings of the same scene share a file name
and must not overwrite each other."""
import inspect
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from mmsimmm.registry import HOOKS


def test_set_names(evaluators: Sequence) -> List[str]:
    """One folder name per test set: the prefix of its first metric up to
    the first '/' (``'day'``, ``'night'``, ``'dark_zurich'``), else
    ``set<i>`` (``'test'`` for a single unnamed set); made unique."""
    names = []
    for index, evaluator in enumerate(evaluators):
        metrics = getattr(evaluator, 'metrics', [])
        prefix = getattr(metrics[0], 'prefix', None) if metrics else None
        name = prefix.split('/')[0] if prefix else (
            'test' if len(evaluators) == 1 else f'set{index}')
        while name in names:
            name += f'_{index}'
        names.append(name)
    return names


def image_root(dataset) -> Optional[str]:
    """The folder a dataset reads its images from (mmengine datasets join
    ``data_root`` into ``data_prefix``)."""
    prefix = getattr(dataset, 'data_prefix', None)
    if isinstance(prefix, dict):
        prefix = (prefix.get('img_path') or prefix.get('img')
                  or prefix.get('video'))
    return prefix or getattr(dataset, 'data_root', None)


@HOOKS.register_module()
class TestSetVisualizationHook(Hook):
    """Draw every ``interval``-th test batch's predictions into
    ``out_dir/<test set>/<image path under the set's root>.png``.

    Works with ``mmsimmm.MultiDatasetTestLoop`` (one folder per dataloader,
    named by its evaluator's metric prefix) and mmengine's ``TestLoop``.
    Drawing goes through the runner's visualizer: mmseg's
    ``SegLocalVisualizer.add_datasample`` (prediction and label drawn on the
    image the model saw, resized to the prediction's size), mmpretrain's
    ``UniversalVisualizer.visualize_cls`` or mmaction2's
    ``ActionVisualizer.add_datasample`` (the first clip's frames, written as
    ``<video path under the set's root>/frames_0/<i>.png``). Images are
    taken from the batch (loaded BGR, as mmcv's loaders do; decord's video
    frames are RGB).
    """
    priority = 'NORMAL'

    def __init__(self, out_dir: str, interval: int = 1,
                 draw_gt: bool = True):
        if interval < 1:
            raise ValueError(f'TestSetVisualizationHook: interval must be '
                             f'>= 1, got {interval}')
        self.out_dir = out_dir
        self.interval = interval
        self.draw_gt = draw_gt

    def before_test(self, runner) -> None:
        loop = runner.test_loop
        loaders = getattr(loop, 'dataloaders', [loop.dataloader])
        evaluators = getattr(loop, 'evaluators', [loop.evaluator])
        self.names = test_set_names(evaluators)
        self.loaders = loaders
        self.roots = [image_root(loader.dataset) for loader in loaders]
        # batches of each set; the loop runs them in order, so a global
        # batch count tells the set (empty sets included)
        self.ends = np.cumsum([len(loader) for loader in loaders])
        self.batches_seen = 0
        visualizer = runner.visualizer
        draws_samples = (type(visualizer).add_datasample
                         is not Visualizer.add_datasample)
        if not (hasattr(visualizer, 'visualize_cls') or draws_samples):
            raise TypeError(
                f'TestSetVisualizationHook: the visualizer '
                f'{type(visualizer).__name__} draws no predictions; use '
                "visualizer=dict(type='SegLocalVisualizer') (mmseg) or "
                "dict(type='UniversalVisualizer') (mmpretrain)")
        if getattr(visualizer, 'dataset_meta', None) is None:
            visualizer.dataset_meta = getattr(loaders[0].dataset, 'metainfo',
                                              None)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        set_index = int(np.searchsorted(self.ends, self.batches_seen,
                                        side='right'))
        self.batches_seen += 1
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        set_index = min(set_index, len(self.names) - 1)
        folder = osp.join(self.out_dir, self.names[set_index])
        loader = self.loaders[set_index]
        for position, sample in enumerate(outputs):
            index = batch_idx * (loader.batch_size or 1) + position
            image = data_batch['inputs'][position]
            out_file = osp.join(
                folder, self._relative_name(sample, loader,
                                            self.roots[set_index], index))
            self._draw(runner.visualizer, image, sample, out_file)

    @staticmethod
    def _relative_name(sample, loader, root: Optional[str],
                       index: int) -> str:
        keys = ('img_path', 'filename', 'frame_dir')  # image / video
        path = next((sample.get(k) for k in keys if k in sample), None)
        sampler = getattr(loader, 'sampler', None)
        if not path and get_world_size() == 1 and not getattr(
                sampler, 'shuffle', True):
            # mmaction2 packs no file name: the dataset's, in order
            info = loader.dataset.get_data_info(index)
            path = next((info.get(k) for k in keys if k in info), None)
        if not path:
            return f'{index:06d}.png'
        relative = osp.relpath(path, root) if root else osp.basename(path)
        if relative.startswith('..'):
            relative = osp.basename(path)
        return osp.splitext(relative)[0] + '.png'

    def _draw(self, visualizer, image, sample, out_file: str) -> None:
        if 'out_path' in inspect.signature(
                visualizer.add_datasample).parameters:  # mmaction2
            clip = image
            while clip.dim() > 4:  # (clips, C, T, H, W): the first clip
                clip = clip[0]
            frames = clip.cpu().permute(1, 2, 3, 0).numpy().astype(np.uint8)
            visualizer.add_datasample(
                osp.basename(out_file), frames, data_sample=sample,
                draw_gt=self.draw_gt, out_path=osp.splitext(out_file)[0])
            return
        rgb = image.cpu().numpy().transpose(1, 2, 0)[..., ::-1]
        rgb = np.ascontiguousarray(rgb).astype(np.uint8)
        name = osp.basename(out_file)
        if hasattr(visualizer, 'visualize_cls'):  # mmpretrain
            # small images (CODaN 224, demo 64) are enlarged to be legible
            resize = 224 if min(rgb.shape[:2]) < 224 else None
            visualizer.visualize_cls(rgb, sample, draw_gt=self.draw_gt,
                                     resize=resize, out_file=out_file,
                                     name=name)
            return
        prediction = getattr(sample, 'pred_sem_seg', None)
        if prediction is not None and prediction.shape != rgb.shape[:2]:
            height, width = prediction.shape
            rgb = cv2.resize(rgb, (width, height),
                             interpolation=cv2.INTER_LINEAR)
        visualizer.add_datasample(name, rgb, data_sample=sample,
                                  draw_gt=self.draw_gt, out_file=out_file)
