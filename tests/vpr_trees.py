"""Tiny retrieval-SfM-120k and Tokyo 24/7 trees in cirtorch's on-disk
layouts (docs/tokyo247.md): a few 3D models ("clusters") of a few images
each, and a few Tokyo places photographed by day, at sunset and at night."""
import os
import os.path as osp
import pickle

import cv2
import numpy as np

from mmsimmm.datasets.retrieval_sfm import cid2filename

SFM = 'retrieval-SfM-120k'
TOKYO = '247tokyo1k'


def _scene(rng, size, base_colour, brightness=1.0):
    """A textured image whose colours depend on the scene."""
    h, w = size
    img = np.empty((h, w, 3), np.float32)
    img[:] = base_colour
    img += rng.normal(0, 25, (h, w, 3))
    return np.clip(img * brightness, 0, 255).astype(np.uint8)


def _write(path, img):
    """JPEG bytes (SfM-120k's files have no extension)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, encoded = cv2.imencode('.jpg', img)
    assert ok, path
    with open(path, 'wb') as f:
        f.write(encoded.tobytes())


def make_sfm120k(root, num_clusters=6, per_cluster=3, sizes=((48, 64),
                                                            (64, 48)),
                 seed=0, splits=('train', 'val')):
    """``root``/train/retrieval-SfM-120k/{retrieval-SfM-120k.pkl, ims/}:
    per split, ``num_clusters`` 3D models of ``per_cluster`` images (two
    image shapes, so batches need padding); pairs: consecutive images of a
    model. Returns the pkl's content."""
    rng = np.random.default_rng(seed)
    db_root = osp.join(root, 'train', SFM)
    content = {}
    for split in splits:
        cids, cluster, qidxs, pidxs = [], [], [], []
        for c in range(num_clusters):
            colour = rng.uniform(30, 220, 3)
            first = len(cids)
            for i in range(per_cluster):
                cid = f'{split}{rng.integers(16**8):08x}{c:02d}{i:02d}'
                size = sizes[(c + i) % len(sizes)]
                _write(cid2filename(cid, osp.join(db_root, 'ims')),
                       _scene(rng, size, colour))
                cids.append(cid)
                cluster.append(c)
            for i in range(per_cluster - 1):
                qidxs.append(first + i)
                pidxs.append(first + i + 1)
        content[split] = dict(cids=cids, cluster=cluster, qidxs=qidxs,
                              pidxs=pidxs)
    os.makedirs(db_root, exist_ok=True)
    with open(osp.join(db_root, f'{SFM}.pkl'), 'wb') as f:
        pickle.dump(content, f)
    return content


def make_tokyo247(root, num_places=3, size=(48, 64), seed=1,
                  with_times=True):
    """``root``/test/247tokyo1k/{gnd_247tokyo1k.pkl, jpg/, query_times.txt}
    in the 1k protocol: every image is a query against all of them; its
    positives are the other photographs of its place, itself is junk.
    Returns the gnd pkl's content."""
    rng = np.random.default_rng(seed)
    data = osp.join(root, 'test', TOKYO)
    names, times, places = [], [], []
    for place in range(num_places):
        colour = rng.uniform(30, 220, 3)
        for time, brightness in (('day', 1.0), ('sunset', 0.6),
                                 ('night', 0.2)):
            name = f'{len(names) + 1:05d}'
            _write(osp.join(data, 'jpg', name + '.jpg'),
                   _scene(rng, size, colour, brightness))
            names.append(name)
            times.append(time)
            places.append(place)
    gnd = [
        dict(ok=[j for j, p in enumerate(places) if p == place and j != q],
             junk=[q]) for q, place in enumerate(places)
    ]
    cfg = dict(imlist=list(names), qimlist=list(names), gnd=gnd)
    with open(osp.join(data, f'gnd_{TOKYO}.pkl'), 'wb') as f:
        pickle.dump(cfg, f)
    if with_times:
        with open(osp.join(data, 'query_times.txt'), 'w') as f:
            f.writelines(f'{n}.jpg {t}\n' for n, t in zip(names, times))
    return dict(cfg, times=times)
