"""SfM-120k tuples and Tokyo 24/7 read from generated trees in cirtorch's
layouts: one-line errors, the tuple collate, and re-mining that follows the
model."""
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS, DefaultScope
from torch.utils.data import DataLoader

from mmsimmm.datasets import (SfM120kImageDataset, SfM120kTupleDataset,
                              Tokyo247Dataset, tuple_collate)
from mmsimmm.engine.hooks import TupleMiningHook
from mmsimmm.registry import MODELS
from test_vpr_model import tiny_retriever_cfg
from vpr_trees import make_sfm120k, make_tokyo247

PIPELINE = [dict(type='mmpretrain.LoadImageFromFile'),
            dict(type='mmpretrain.PackInputs')]


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('retrieval'))
    return dict(root=root, sfm=make_sfm120k(root), tokyo=make_tokyo247(root))


def tuples(root, **kwargs):
    kwargs = dict(dict(num_negatives=2, query_size=4, pool_size=18), **kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return SfM120kTupleDataset(data_root=root, pipeline=PIPELINE,
                                   **kwargs)


def test_tuple_items_follow_the_pkl(tree):
    dataset = tuples(tree['root'])
    db = tree['sfm']['train']
    assert len(dataset) == 4
    for row in dataset.tuples.tolist():
        query, positive, *negatives = row
        pair = list(zip(db['qidxs'], db['pidxs'])).index((query, positive))
        assert pair >= 0
        clusters = [db['cluster'][i] for i in [query] + negatives]
        assert len(set(clusters)) == 3  # no negative of the query's model
    item = dataset[0]
    assert [s['data_samples'].tuple_role for s in item] == [
        'query', 'positive', 'negative', 'negative']
    cid = db['cids'][dataset.tuples[0, 0]]
    assert item[0]['data_samples'].img_path.endswith(
        osp.join('ims', cid[-2:], cid[-4:-2], cid[-6:-4], cid))


def test_collate_flattens_tuples_with_index_and_role(tree):
    dataset = tuples(tree['root'])
    collate = FUNCTIONS.get('mmsimmm.tuple_collate')
    assert collate is tuple_collate
    batch = collate([dataset[0], dataset[1], dataset[2]])
    assert len(batch['inputs']) == len(batch['data_samples']) == 12
    assert [s.tuple_index for s in batch['data_samples']] == \
        [0] * 4 + [1] * 4 + [2] * 4
    assert [s.tuple_role for s in batch['data_samples']][:4] == [
        'query', 'positive', 'negative', 'negative']
    # images of several shapes: the preprocessor pads, img_shape is kept
    shapes = {tuple(i.shape[-2:]) for i in batch['inputs']}
    assert shapes == {(48, 64), (64, 48)}


def describe_with(model):
    @torch.no_grad()
    def describe(batch):
        data = model.data_preprocessor(pseudo_collate(batch), False)
        return model.extract_descriptors(data['inputs'],
                                         data['data_samples'])
    return describe


def test_mining_takes_the_hardest_negatives_of_the_model(tree):
    dataset = tuples(tree['root'], query_size=4, pool_size=18)
    clusters = tree['sfm']['train']['cluster']
    # a "model" whose descriptor is a one-hot of the 3D model: for each
    # query, images of model c have similarity 1 - |c - c_q| / 10 ...
    def describe(batch):
        rows = []
        for sample in batch:
            c = clusters[sample['data_samples'].sample_idx]
            rows.append(torch.tensor([1.0, c / 10.0]))
        return torch.nn.functional.normalize(torch.stack(rows), dim=1)
    dataset.mine(describe)

    def vec(c):
        return torch.nn.functional.normalize(torch.tensor([1.0, c / 10.0]),
                                             dim=0)

    for query, _, *negatives in dataset.tuples.tolist():
        c = clusters[query]
        # the other 3D models, most similar first (the pool is every image)
        others = sorted(set(clusters) - {c},
                        key=lambda k: -float(vec(k) @ vec(c)))
        assert [clusters[n] for n in negatives] == others[:2]


def new_model(seed):
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmsimmm'):
        model = MODELS.build(tiny_retriever_cfg())
    model.init_weights()
    return model.eval()


def test_mining_changes_with_the_model_and_reaches_workers(tree):
    dataset = tuples(tree['root'], query_size=5, pool_size=18)
    dataset.mine(describe_with(new_model(0)), round_index=3)
    first = dataset.tuples.clone()
    # another model, same round (same queries and pool)
    dataset.mine(describe_with(new_model(1)), round_index=3)
    second = dataset.tuples.clone()
    torch.testing.assert_close(first[:, :2], second[:, :2])
    assert not torch.equal(first[:, 2:], second[:, 2:])
    # the table is shared memory: a worker started before the mining reads
    # the new tuples
    assert dataset.tuples.is_shared()
    loader = DataLoader(dataset, batch_size=5, num_workers=1,
                        persistent_workers=True, collate_fn=tuple_collate)
    it = iter(loader)
    next(it)
    dataset.mine(describe_with(new_model(0)), round_index=3)
    torch.testing.assert_close(dataset.tuples, first)
    seen = [s.sample_idx for s in next(iter(loader))['data_samples']]
    assert seen == dataset.tuples.flatten().tolist()


def test_mining_hook_counts_task_steps_only(tree):
    """Under the two-phase loop only adapt steps count toward a round."""
    hook = TupleMiningHook(interval=2)

    class Loop:
        plan = ['darken'] * 3 + ['adapt'] * 5
        max_iters = 8

        def phase_of(self, i):
            return self.plan[i]

    class Runner:
        train_loop = Loop()
        iter = 0

    mined = []
    hook.mine = lambda runner, round_index: mined.append(round_index)
    for i in range(8):
        hook.after_train_iter(Runner, i)
    # adapt steps 2 and 4 end a round; the last iteration does not mine
    assert mined == [1, 2]


def test_sfm_errors_name_the_path(tree, tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='annotation file not found: .*nowhere/train/'
                       'retrieval-SfM-120k/retrieval-SfM-120k.pkl$'):
        tuples(str(tmp_path / 'nowhere'))
    root = tmp_path / 'noims'
    db_root = root / 'train' / 'retrieval-SfM-120k'
    db_root.mkdir(parents=True)
    with open(db_root / 'retrieval-SfM-120k.pkl', 'wb') as f:
        pickle.dump(dict(train=tree['sfm']['train']), f)
    with pytest.raises(FileNotFoundError, match='image folder not found: '
                       '.*retrieval-SfM-120k/ims$'):
        tuples(str(root))
    with pytest.raises(KeyError, match="has no split 'val'"):
        tuples(str(root), split='val')
    with pytest.raises(ValueError, match='6 negatives need a larger pool_size'):
        tuples(tree['root'], num_negatives=6, pool_size=18)


def test_sfm_image_list_for_stage_1(tree):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = SfM120kImageDataset(data_root=tree['root'],
                                      pipeline=PIPELINE)
    assert len(dataset) == len(tree['sfm']['train']['cids'])
    assert dataset[0]['inputs'].shape[0] == 3


def test_tokyo_samples_ground_truth_and_times(tree):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = Tokyo247Dataset(data_root=tree['root'], pipeline=PIPELINE)
    tokyo = tree['tokyo']
    assert len(dataset) == len(tokyo['imlist'])  # queries = database
    meta = dataset.metainfo
    assert meta['num_database'] == meta['num_queries'] == 9
    assert meta['gnd'][0] == dict(ok=[1, 2], junk=[0])
    assert meta['query_times'] == tokyo['times']
    sample = dataset[2]['data_samples']
    assert (sample.db_index, sample.query_index, sample.time_of_day) == (
        2, 2, 'night')


def test_tokyo_errors_name_the_path(tree, tmp_path):
    def build(root, **kwargs):
        return Tokyo247Dataset(data_root=str(root), pipeline=PIPELINE,
                               **kwargs)
    with pytest.raises(FileNotFoundError, match='ground-truth file not '
                       'found: .*test/247tokyo1k/gnd_247tokyo1k.pkl$'):
        build(tmp_path)
    root = tmp_path / 'tokyo'
    make_tokyo247(str(root))
    os.remove(root / 'test' / '247tokyo1k' / 'jpg' / '00004.jpg')
    with pytest.raises(FileNotFoundError,
                       match='image not found: .*jpg/00004.jpg$'):
        build(root)
    times = root / 'test' / '247tokyo1k' / 'query_times.txt'
    times.write_text('00001.jpg dusk\n')
    with pytest.raises(ValueError, match=r'query_times.txt:1: expected'):
        build(root)
    # without the times file: all queries only (no error)
    make_tokyo247(str(root), with_times=False)
    os.remove(times)
    assert build(root).metainfo['query_times'] == [''] * 9
