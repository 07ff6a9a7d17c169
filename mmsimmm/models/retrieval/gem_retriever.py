"""GeM-pooled CNN for image retrieval / visual place recognition (Radenovic
et al., TPAMI 2018; the network of the paper's Tokyo 24/7 experiment)."""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmpretrain.models import ImageClassifier
from torch import Tensor

from mmsimmm.registry import MODELS
from .contrastive_loss import tuple_roles


@MODELS.register_module()
class GeMRetriever(ImageClassifier):
    """ResNet + GeM pooling + L2 normalisation, trained with the contrastive
    loss on (query, positive(s), negatives) tuples.

    Built on mmpretrain's ``ImageClassifier`` (its ResNet backbone, its
    ``GeneralizedMeanPooling`` neck, its data preprocessor, its
    ``extract_feat``), not on ``ImageToImageRetriever``: that one ranks
    queries against a prototype set extracted before testing and scores
    them with labels, while the Tokyo 24/7 protocol ranks a database with
    per-query positive and junk lists and multi-scale descriptors, and the
    training loss needs the tuple structure of the batch, not class labels.
    Being an ``ImageClassifier`` also lets SMM tap ``backbone.layer4`` like
    any mmpretrain model.

    Batches may mix image sizes (the data preprocessor pads them bottom and
    right): each descriptor is pooled over the feature positions of its own
    image (``img_shape``), not over the padding.

    Args:
        backbone: e.g. ``dict(type='mmpretrain.ResNet', depth=101,
            out_indices=(3, ), norm_eval=True)`` (cirtorch trains with
            BatchNorm in eval mode).
        neck: the pooling, ``mmpretrain.GeneralizedMeanPooling`` (p = 3,
            trainable).
        loss: the tuple loss, ``mmsimmm.ContrastiveTupleLoss``.
        test_scales: image scales whose descriptors are averaged at test
            time (cirtorch's multi-scale: 1, 1/sqrt(2), 1/2).
        multiscale_power: ``'gem'`` averages the descriptors raised to the
            GeM power p and takes the p-th root (cirtorch's ``msp`` for GeM
            networks without whitening); ``None`` averages them plainly.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict = dict(type='mmpretrain.GeneralizedMeanPooling',
                                   p=3.0),
                 loss: dict = dict(type='mmsimmm.ContrastiveTupleLoss',
                                   margin=0.85),
                 test_scales: Sequence[float] = (1.0, 2**-0.5, 0.5),
                 multiscale_power: Optional[str] = 'gem',
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, head=None,
                         pretrained=pretrained,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if multiscale_power not in (None, 'gem'):
            raise ValueError("GeMRetriever: multiscale_power must be 'gem' "
                             f'or None, got {multiscale_power!r}')
        if not test_scales or any(s <= 0 for s in test_scales):
            raise ValueError('GeMRetriever: test_scales must be positive, '
                             f'got {tuple(test_scales)}')
        self.loss_module = MODELS.build(loss)
        self.test_scales = tuple(float(s) for s in test_scales)
        self.multiscale_power = multiscale_power

    # ------------------------------------------------------------ features
    def extract_descriptors(self, inputs: Tensor,
                            data_samples=None) -> Tensor:
        """L2-normalised GeM descriptors (N, C) of a batch, each pooled over
        its own image's region when the batch is padded."""
        feature = self.backbone(inputs)
        feature = feature[-1] if isinstance(feature, (tuple, list)) else \
            feature
        regions = self._valid_regions(inputs, feature, data_samples)
        if regions is None:
            pooled = self.neck(feature)
        else:
            pooled = torch.cat([
                self.neck(feature[i:i + 1, :, :h, :w])
                for i, (h, w) in enumerate(regions)
            ])
        return F.normalize(pooled, p=2, dim=1, eps=1e-6)

    @staticmethod
    def _valid_regions(inputs: Tensor, feature: Tensor,
                       data_samples) -> Optional[List[tuple]]:
        """Feature-map extent of each unpadded image, or None when no image
        of the batch is padded."""
        if not data_samples:
            return None
        in_h, in_w = inputs.shape[-2:]
        feat_h, feat_w = feature.shape[-2:]
        regions, padded = [], False
        for sample in data_samples:
            shape = sample.metainfo.get('img_shape', None)
            if shape is None:
                return None
            h, w = min(shape[0], in_h), min(shape[1], in_w)
            padded |= (h, w) != (in_h, in_w)
            regions.append((max(1, math.ceil(h * feat_h / in_h)),
                            max(1, math.ceil(w * feat_w / in_w))))
        return regions if padded else None

    def multiscale_descriptors(self, inputs: Tensor,
                               data_samples=None) -> Tensor:
        """cirtorch's multi-scale descriptor: the image resized (bilinear)
        by each test scale, descriptors averaged (as p-th powers for GeM),
        then L2-normalised."""
        power = 1.0
        if self.multiscale_power == 'gem' and len(self.test_scales) > 1:
            power = float(self.neck.p.detach())
        total = 0
        for scale in self.test_scales:
            scaled, samples = inputs, data_samples
            if scale != 1.0:
                scaled = F.interpolate(inputs, scale_factor=scale,
                                       mode='bilinear', align_corners=False)
                samples = _scaled_samples(data_samples, scale)
            total = total + self.extract_descriptors(scaled,
                                                     samples).pow(power)
        mean = (total / len(self.test_scales)).pow(1.0 / power)
        return F.normalize(mean, p=2, dim=1, eps=1e-6)

    # --------------------------------------------------------------- modes
    def loss(self, inputs: Tensor, data_samples) -> dict:
        descriptors = self.extract_descriptors(inputs, data_samples)
        index, roles = tuple_roles(data_samples)
        return dict(loss_contrastive=self.loss_module(descriptors, index,
                                                      roles))

    def predict(self, inputs: Tensor, data_samples=None, **kwargs) -> list:
        """Data samples holding ``descriptor`` (multi-scale, L2-normalised)."""
        from mmpretrain.structures import DataSample
        descriptors = self.multiscale_descriptors(inputs, data_samples)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(descriptors))]
        for sample, descriptor in zip(data_samples, descriptors):
            sample.set_field(descriptor, 'descriptor', field_type='data')
        return data_samples

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        return self.extract_descriptors(inputs, data_samples)


def _scaled_samples(data_samples, scale: float):
    """Copies of the samples whose ``img_shape`` follows a resize."""
    if not data_samples:
        return data_samples
    scaled = []
    for sample in data_samples:
        shape = sample.metainfo.get('img_shape', None)
        copy = sample.new()  # shares data, own metainfo
        if shape is not None:
            copy.set_metainfo(dict(img_shape=(
                max(1, math.floor(shape[0] * scale)),
                max(1, math.floor(shape[1] * scale)))))
        scaled.append(copy)
    return scaled
