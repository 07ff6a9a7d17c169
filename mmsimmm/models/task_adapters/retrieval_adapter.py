"""Task adapter for retrieval models trained on tuples (GeM, Tokyo 24/7)."""
import torch
from torch import Tensor

from mmsimmm.registry import TASK_ADAPTERS
from .pretrain_adapter import MMPretrainTaskAdapter

QUERY, POSITIVE = 'query', 'positive'


@TASK_ADAPTERS.register_module()
class MMRetrievalTaskAdapter(MMPretrainTaskAdapter):
    """SMM for visual place recognition, as the paper does it.

    Stage 1 is the classification one (L_D^sim on ``backbone.layer4``).
    Stage 2 darkens only the query of each tuple and adds D(q, E') to its
    tuple as an extra positive of the contrastive loss (no BYOL: use
    ``projector=None`` and ``task_loss_scale=1.0``). The batch is the
    flattened tuples of ``mmsimmm.tuple_collate``: every data sample carries
    ``tuple_index`` and ``tuple_role``.
    """
    task_models = ('mmsimmm.GeMRetriever', )

    def __init__(self,
                 darken_taps=('backbone.layer4', ),
                 online_tap='neck',
                 encoder_modules=('backbone', 'neck'),
                 feature_forward='extract_feat',
                 input_channel_order=None):
        super().__init__(darken_taps, online_tap, encoder_modules,
                         feature_forward, input_channel_order)

    @staticmethod
    def query_positions(data_samples) -> list:
        positions = [
            i for i, sample in enumerate(data_samples)
            if sample.metainfo.get('tuple_role') == QUERY
        ]
        if not positions:
            raise ValueError('MMRetrievalTaskAdapter: the batch holds no '
                             "sample with tuple_role 'query' (collate with "
                             "mmsimmm.tuple_collate)")
        return positions

    def images_to_darken(self, inputs: Tensor, data_samples) -> Tensor:
        """The query image of every tuple, in tuple order."""
        positions = self.query_positions(data_samples)
        return inputs[torch.as_tensor(positions, device=inputs.device)]

    def dark_query_samples(self, data_samples) -> list:
        """Data samples of the darkened queries: each a positive of its own
        query's tuple (same tuple index and image shape)."""
        dark = []
        for position in self.query_positions(data_samples):
            sample = data_samples[position].new()
            sample.set_metainfo(dict(tuple_role=POSITIVE, darkened=True))
            dark.append(sample)
        return dark

    def adapt_batch(self, inputs: Tensor, dark_inputs: Tensor,
                    data_samples):
        """The tuples, each extended by its darkened query as one more
        positive (one forward; the contrastive loss reads the roles)."""
        return (torch.cat([inputs, dark_inputs]),
                list(data_samples) + self.dark_query_samples(data_samples))
