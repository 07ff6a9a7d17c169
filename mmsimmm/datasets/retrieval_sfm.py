"""retrieval-SfM-120k (Radenovic et al.) in cirtorch's on-disk layout:
training tuples with hard negatives re-mined by the current model, and the
plain image list (stage 1 of SMM). Layout: docs/tokyo247.md::

    <data_root>/train/retrieval-SfM-120k/retrieval-SfM-120k.pkl
    <data_root>/train/retrieval-SfM-120k/ims/<cid[-2:]>/<cid[-4:-2]>/<cid[-6:-4]>/<cid>

The pkl holds ``{'train': db, 'val': db}``, each db a dict with ``cids``
(image names), ``qidxs`` / ``pidxs`` (query and positive image indices of
the training pairs) and ``cluster`` (3D-model id of every image).
"""
import os.path as osp
import pickle
from typing import Callable, List, Optional, Sequence

import torch
from mmengine.dataset import BaseDataset, Compose
from torch import Tensor
from torch.utils.data import Dataset

from mmsimmm.registry import DATASETS, FUNCTIONS

DB_KEYS = ('cids', 'qidxs', 'pidxs', 'cluster')


def cid2filename(cid: str, prefix: str) -> str:
    """Path of a SfM-120k image from its cid (cirtorch's folder hashing)."""
    return osp.join(prefix, cid[-2:], cid[-4:-2], cid[-6:-4], cid)


def read_sfm_db(ann_file: str, split: str, owner: str) -> dict:
    """The ``split`` part of a SfM-120k pkl, checked; one-line errors."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'{owner}: annotation file not found: '
                                f'{ann_file}')
    with open(ann_file, 'rb') as f:
        content = pickle.load(f)
    if not isinstance(content, dict) or split not in content:
        keys = sorted(content) if isinstance(content, dict) else []
        raise KeyError(f"{owner}: {ann_file} has no split '{split}' "
                       f'(keys: {keys})')
    db = content[split]
    missing = [k for k in DB_KEYS if k not in db]
    if missing:
        raise KeyError(f"{owner}: {ann_file}['{split}'] has no "
                       f"'{missing[0]}' (needs {', '.join(DB_KEYS)})")
    if len(db['qidxs']) != len(db['pidxs']):
        raise ValueError(f"{owner}: {ann_file}['{split}']: "
                         f"{len(db['qidxs'])} qidxs but "
                         f"{len(db['pidxs'])} pidxs")
    if len(db['cluster']) != len(db['cids']):
        raise ValueError(f"{owner}: {ann_file}['{split}']: "
                         f"{len(db['cluster'])} cluster ids for "
                         f"{len(db['cids'])} images")
    return db


def _join(root: Optional[str], path: str) -> str:
    return osp.join(root, path) if root and not osp.isabs(path) else path


def _check_dir(path: str, owner: str) -> None:
    if not osp.isdir(path):
        raise FileNotFoundError(f'{owner}: image folder not found: {path}')


@DATASETS.register_module()
class SfM120kImageDataset(BaseDataset):
    """Every image of a SfM-120k split, one sample each (no labels): the
    day images D is trained on in stage 1."""

    def __init__(self,
                 ann_file: str = 'train/retrieval-SfM-120k/'
                 'retrieval-SfM-120k.pkl',
                 data_root: str = '',
                 data_prefix: dict = dict(
                     img_path='train/retrieval-SfM-120k/ims'),
                 split: str = 'train',
                 **kwargs):
        self.split = split
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        owner = type(self).__name__
        db = read_sfm_db(self.ann_file, self.split, owner)
        prefix = self.data_prefix['img_path']
        _check_dir(prefix, owner)
        return [dict(img_path=cid2filename(cid, prefix)) for cid in db['cids']]


@DATASETS.register_module()
class SfM120kTupleDataset(Dataset):
    """Training tuples (query, positive, N negatives) of SfM-120k, as
    cirtorch's ``TuplesDataset``: each round (an "epoch" of ``query_size``
    tuples) draws new query-positive pairs and mines, for each query, the
    ``num_negatives`` images of a random pool of ``pool_size`` whose
    descriptors are closest to the query's, at most one per 3D model and
    none from the query's own (:meth:`mine`, called by
    ``mmsimmm.TupleMiningHook`` with the current model).

    The tuple table lives in shared memory and is updated in place, so data
    loader workers (persistent or not) read the new tuples; only batches
    they had already prefetched keep the old ones. Until the first
    :meth:`mine`, negatives are random images of other 3D models.

    One item is the list of the tuple's images after ``pipeline`` (packed
    samples whose metainfo has ``tuple_role``: ``'query'``, ``'positive'``
    or ``'negative'``); ``mmsimmm.tuple_collate`` flattens a batch of
    tuples and adds ``tuple_index``.

    Args:
        ann_file / data_root / data_prefix: as mmengine datasets (joined).
        split: ``'train'`` or ``'val'`` part of the pkl.
        pipeline: transforms of each training image.
        mining_pipeline: transforms of the images described for mining
            (default: ``pipeline``).
        num_negatives: N (cirtorch: 5).
        query_size: tuples per round (cirtorch: 2000).
        pool_size: images in the negative pool per round (cirtorch: 20000).
        mining_batch_size: images per forward while mining.
        seed: base of the random draws of every round.
    """

    def __init__(self,
                 ann_file: str = 'train/retrieval-SfM-120k/'
                 'retrieval-SfM-120k.pkl',
                 data_root: str = '',
                 data_prefix: dict = dict(
                     img_path='train/retrieval-SfM-120k/ims'),
                 split: str = 'train',
                 pipeline: Sequence[dict] = (),
                 mining_pipeline: Optional[Sequence[dict]] = None,
                 num_negatives: int = 5,
                 query_size: int = 2000,
                 pool_size: int = 20000,
                 mining_batch_size: int = 16,
                 seed: int = 0):
        owner = type(self).__name__
        self.ann_file = _join(data_root, ann_file)
        image_root = _join(data_root, data_prefix['img_path'])
        db = read_sfm_db(self.ann_file, split, owner)
        _check_dir(image_root, owner)
        if num_negatives < 0 or query_size < 1 or pool_size < 1:
            raise ValueError(f'{owner}: num_negatives >= 0, query_size >= 1 '
                             f'and pool_size >= 1 needed, got '
                             f'{num_negatives}, {query_size}, {pool_size}')
        self.images = [cid2filename(c, image_root) for c in db['cids']]
        self.clusters = [int(c) for c in db['cluster']]
        self.query_pool = [int(i) for i in db['qidxs']]
        self.positive_pool = [int(i) for i in db['pidxs']]
        if not self.query_pool:
            raise ValueError(f"{owner}: {self.ann_file}['{split}'] holds no "
                             'query-positive pairs')
        self.num_negatives = num_negatives
        self.query_size = min(query_size, len(self.query_pool))
        self.pool_size = min(pool_size, len(self.images))
        self.mining_batch_size = mining_batch_size
        self.seed = seed
        self.pipeline = Compose(list(pipeline))
        self.mining_pipeline = Compose(
            list(pipeline if mining_pipeline is None else mining_pipeline))
        # rows: query, positive, negatives (image indices)
        self.tuples = torch.zeros(self.query_size, 2 + num_negatives,
                                  dtype=torch.long).share_memory_()
        self.rounds_mined = 0
        self._draw(self._generator(-1), describe=None)

    # ---------------------------------------------------------------- items
    def __len__(self) -> int:
        return self.query_size

    def __getitem__(self, index: int) -> List[dict]:
        row = self.tuples[index].tolist()
        roles = ['query', 'positive'] + ['negative'] * self.num_negatives
        return [self._load(image, role) for image, role in zip(row, roles)]

    def _load(self, image: int, role: str,
              pipeline: Optional[Callable] = None) -> dict:
        results = (pipeline or self.pipeline)(
            dict(img_path=self.images[image], sample_idx=image))
        if role is not None and 'data_samples' in results:
            results['data_samples'].set_metainfo(dict(tuple_role=role))
        return results

    @property
    def metainfo(self) -> dict:
        return dict(num_images=len(self.images))

    # --------------------------------------------------------------- mining
    def _generator(self, round_index: int) -> torch.Generator:
        generator = torch.Generator()
        generator.manual_seed(self.seed * 1000003 + round_index + 1)
        return generator

    def describe(self, indices: Sequence[int],
                 describe_batch: Callable[[List[dict]], Tensor]) -> Tensor:
        """Descriptors (n, D) of the images ``indices`` through
        ``mining_pipeline`` and ``describe_batch`` (a list of packed
        samples -> their descriptors), in chunks."""
        chunks = []
        for start in range(0, len(indices), self.mining_batch_size):
            batch = [
                self._load(i, None, self.mining_pipeline)
                for i in indices[start:start + self.mining_batch_size]
            ]
            chunks.append(describe_batch(batch).detach().float().cpu())
        return torch.cat(chunks)

    def mine(self, describe_batch: Callable[[List[dict]], Tensor],
             round_index: Optional[int] = None) -> float:
        """A new round of tuples, negatives mined with ``describe_batch``
        (the current model). Returns the mean query-negative distance."""
        round_index = self.rounds_mined if round_index is None else \
            round_index
        distance = self._draw(self._generator(round_index), describe_batch)
        self.rounds_mined = round_index + 1
        return distance

    def _draw(self, generator: torch.Generator,
              describe: Optional[Callable]) -> float:
        picks = torch.randperm(len(self.query_pool),
                               generator=generator)[:self.query_size]
        queries = [self.query_pool[i] for i in picks.tolist()]
        positives = [self.positive_pool[i] for i in picks.tolist()]
        pool = torch.randperm(len(self.images),
                              generator=generator)[:self.pool_size].tolist()
        distances = []
        if self.num_negatives == 0:
            negatives = [[] for _ in queries]
        elif describe is None:  # before the first mining: random negatives
            negatives = [self._pick(q, pool) for q in queries]
        else:
            query_vecs = self.describe(queries, describe)
            pool_vecs = self.describe(pool, describe)
            # most similar pool images first (descriptors are L2-normalised)
            ranks = (query_vecs @ pool_vecs.T).argsort(dim=1,
                                                       descending=True)
            negatives = []
            index = {image: i for i, image in enumerate(pool)}
            for q, (query, order) in enumerate(zip(queries, ranks)):
                chosen = self._pick(query, [pool[r] for r in order.tolist()])
                negatives.append(chosen)
                chosen_vecs = pool_vecs[[index[n] for n in chosen]]
                distances.append(
                    (query_vecs[q] - chosen_vecs).norm(dim=1).mean().item())
        table = torch.tensor([[q, p, *n] for q, p, n in
                              zip(queries, positives, negatives)],
                             dtype=torch.long)
        self.tuples.copy_(table)  # in place: workers share this storage
        return sum(distances) / len(distances) if distances else float('nan')

    def _pick(self, query: int, candidates: Sequence[int]) -> List[int]:
        """The first ``num_negatives`` candidates of distinct 3D models,
        none of the query's model (those may show the same place)."""
        used = {self.clusters[query]}
        chosen = []
        for image in candidates:
            cluster = self.clusters[image]
            if cluster not in used:
                chosen.append(image)
                used.add(cluster)
                if len(chosen) == self.num_negatives:
                    return chosen
        raise ValueError(
            f'{type(self).__name__}: the negative pool of {self.pool_size} '
            f'images holds only {len(chosen)} other 3D models for query '
            f'{query}; {self.num_negatives} negatives need a larger pool_size')


@FUNCTIONS.register_module()
def tuple_collate(batch: Sequence[List[dict]]) -> dict:
    """A batch of tuples as one flat batch: ``inputs`` the images of all
    tuples (a list, tuple after tuple; the data preprocessor stacks and pads
    them), ``data_samples`` theirs, each with ``tuple_index`` (position of
    its tuple in the batch) and the ``tuple_role`` the dataset gave it."""
    inputs, data_samples = [], []
    for tuple_index, items in enumerate(batch):
        for item in items:
            sample = item['data_samples']
            sample.set_metainfo(dict(tuple_index=tuple_index))
            inputs.append(item['inputs'])
            data_samples.append(sample)
    return dict(inputs=inputs, data_samples=data_samples)
