"""The contrastive loss of CNN image retrieval (Radenovic et al., cirtorch),
computed per tuple with any number of positives."""
from typing import Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmsimmm.registry import MODELS

# role of each image in a training tuple, as the data samples carry it
ROLES = ('query', 'positive', 'negative')


def tuple_roles(data_samples) -> tuple:
    """(tuple index, role) of every sample, read from the metainfo keys
    ``tuple_index`` and ``tuple_role`` that ``mmsimmm.tuple_collate`` (and
    the retrieval task adapter for darkened queries) set."""
    indices, roles = [], []
    for position, sample in enumerate(data_samples):
        meta = sample.metainfo
        if 'tuple_index' not in meta or 'tuple_role' not in meta:
            raise KeyError(f'sample {position} of the batch has no '
                           "'tuple_index'/'tuple_role' metainfo (collate "
                           "tuples with collate_fn=dict(type="
                           "'mmsimmm.tuple_collate'))")
        if meta['tuple_role'] not in ROLES:
            raise ValueError(f'sample {position}: tuple_role '
                             f"{meta['tuple_role']!r} is not one of {ROLES}")
        indices.append(int(meta['tuple_index']))
        roles.append(meta['tuple_role'])
    return indices, roles


@MODELS.register_module()
class ContrastiveTupleLoss(nn.Module):
    """cirtorch's contrastive loss over tuples (q, p_1..p_P, n_1..n_N).

    For the Euclidean distance d = ||q - x + eps|| of each other image x of
    the tuple to its query: positives add d^2 / 2, negatives
    max(0, margin - d)^2 / 2. cirtorch sums over the pairs of a tuple and
    back-propagates tuple by tuple (gradients add up over a batch), so the
    default ``reduction='sum'`` is its batch loss; ``'mean'`` divides by the
    number of tuples. Any number of positives per tuple is allowed (SMM adds
    the darkened query as one).

    Args:
        margin: 0.85 for ResNet-101 GeM (cirtorch's published recipe and
            the SMM reference).
        eps: added to the difference before the norm, as cirtorch does.
        reduction: ``'sum'`` or ``'mean'`` over tuples.
        loss_weight: factor on the result.
    """

    def __init__(self, margin: float = 0.85, eps: float = 1e-6,
                 reduction: str = 'sum', loss_weight: float = 1.0):
        super().__init__()
        if reduction not in ('sum', 'mean'):
            raise ValueError(f"ContrastiveTupleLoss: reduction must be 'sum' "
                             f"or 'mean', got {reduction!r}")
        self.margin = margin
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, descriptors: Tensor, tuple_index: Sequence[int],
                roles: Sequence[str]) -> Tensor:
        if descriptors.dim() != 2 or len(descriptors) != len(roles) or \
                len(roles) != len(tuple_index):
            raise ValueError(
                f'ContrastiveTupleLoss: {tuple(descriptors.shape)} '
                f'descriptors for {len(roles)} roles and '
                f'{len(tuple_index)} tuple indices')
        index = torch.as_tensor(list(tuple_index), device=descriptors.device)
        role = list(roles)
        tuples = sorted(set(index.tolist()))
        queries = {}
        for position, (t, r) in enumerate(zip(index.tolist(), role)):
            if r == 'query':
                if t in queries:
                    raise ValueError(f'ContrastiveTupleLoss: tuple {t} has '
                                     'more than one query')
                queries[t] = position
        missing = [t for t in tuples if t not in queries]
        if missing:
            raise ValueError(
                f'ContrastiveTupleLoss: tuple {missing[0]} has no query')
        is_positive = torch.tensor([r == 'positive' for r in role],
                                   device=descriptors.device)
        is_negative = torch.tensor([r == 'negative' for r in role],
                                   device=descriptors.device)
        for t in tuples:
            if not bool((is_positive & (index == t)).any()):
                raise ValueError(
                    f'ContrastiveTupleLoss: tuple {t} has no positive')
        # the query of each image's tuple, gathered in one step
        query_of = torch.tensor([queries[t] for t in index.tolist()],
                                device=descriptors.device)
        diff = descriptors[query_of] - descriptors + self.eps
        distance = diff.pow(2).sum(dim=1).sqrt()
        positive_terms = 0.5 * distance.pow(2)
        negative_terms = 0.5 * (self.margin - distance).clamp(min=0).pow(2)
        per_image = torch.where(is_positive, positive_terms,
                                torch.where(is_negative, negative_terms,
                                            torch.zeros_like(distance)))
        loss = per_image.sum()
        if self.reduction == 'mean':
            loss = loss / len(tuples)
        return self.loss_weight * loss
