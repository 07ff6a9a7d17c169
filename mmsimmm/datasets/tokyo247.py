"""Tokyo 24/7 for day-night place recognition, in the layout the SMM and
CIConv reference code reads (cirtorch's ``configdataset('247tokyo1k')``);
see docs/tokyo247.md::

    <data_root>/test/247tokyo1k/gnd_247tokyo1k.pkl
    <data_root>/test/247tokyo1k/jpg/<name>.jpg
    <data_root>/test/247tokyo1k/query_times.txt     (optional, ours)

The pkl holds ``imlist`` (database image names, no extension), ``qimlist``
(query image names) and ``gnd``: one dict per query with ``ok`` (indices
into ``imlist`` of its positives) and optionally ``junk`` (ignored when
ranking). In the 1k protocol every image is a query and the database is the
same list. ``query_times.txt`` gives the time of day of the queries, one
``<name> <day|sunset|night>`` per line, for the metric's per-time results.
"""
import os.path as osp
import pickle
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmsimmm.registry import DATASETS

TIMES_OF_DAY = ('day', 'sunset', 'night')


def read_query_times(path: str, queries: List[str], owner: str) -> dict:
    """``name -> time of day`` from a ``<name> <time>`` text file."""
    times = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in TIMES_OF_DAY:
                raise ValueError(
                    f'{owner}: {path}:{number}: expected "<name> '
                    f'<{"|".join(TIMES_OF_DAY)}>", got {line.strip()!r}')
            times[osp.splitext(parts[0])[0]] = parts[1]
    missing = [q for q in queries if q not in times]
    if missing:
        raise KeyError(f'{owner}: {path} gives no time of day for query '
                       f"'{missing[0]}' ({len(missing)} of {len(queries)} "
                       'missing)')
    return times


@DATASETS.register_module()
class Tokyo247Dataset(BaseDataset):
    """Every image Tokyo 24/7 needs, once: database images and queries
    (a name in both lists is one sample). Each sample's metainfo holds
    ``db_index`` / ``query_index`` (its position in ``imlist`` /
    ``qimlist``, -1 if not there) and ``time_of_day`` of a query; the
    dataset's metainfo holds ``gnd`` and the list sizes for
    ``mmsimmm.PlaceRecognitionMetric``.

    Args:
        ann_file: the gnd pkl, relative to ``data_root``.
        data_prefix: ``img_path``: the image folder.
        extension: appended to the names of the pkl (cirtorch: ``.jpg``).
        query_times: the time-of-day file; without it (missing file or
            ``None``) the metric reports all queries only.
    """

    def __init__(self,
                 ann_file: str = 'test/247tokyo1k/gnd_247tokyo1k.pkl',
                 data_root: str = '',
                 data_prefix: dict = dict(img_path='test/247tokyo1k/jpg'),
                 extension: str = '.jpg',
                 query_times: Optional[str] = 'test/247tokyo1k/'
                 'query_times.txt',
                 **kwargs):
        self.extension = extension
        self.query_times = query_times
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def _read_gnd(self, owner: str) -> dict:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{owner}: ground-truth file not found: '
                                    f'{self.ann_file}')
        with open(self.ann_file, 'rb') as f:
            cfg = pickle.load(f)
        for key in ('imlist', 'qimlist', 'gnd'):
            if key not in cfg:
                raise KeyError(f"{owner}: {self.ann_file} has no '{key}'")
        if len(cfg['gnd']) != len(cfg['qimlist']):
            raise ValueError(f"{owner}: {self.ann_file}: {len(cfg['gnd'])} "
                             f"gnd entries for {len(cfg['qimlist'])} queries")
        for q, entry in enumerate(cfg['gnd']):
            if 'ok' not in entry:
                raise KeyError(f"{owner}: {self.ann_file}: gnd[{q}] has no "
                               "'ok'")
        return cfg

    def load_data_list(self) -> List[dict]:
        owner = type(self).__name__
        cfg = self._read_gnd(owner)
        image_dir = self.data_prefix['img_path']
        if not osp.isdir(image_dir):
            raise FileNotFoundError(f'{owner}: image folder not found: '
                                    f'{image_dir}')
        database, queries = list(cfg['imlist']), list(cfg['qimlist'])
        times = self._times(queries, owner)
        db_index = {name: i for i, name in enumerate(database)}
        query_index = {name: i for i, name in enumerate(queries)}
        names = database + [q for q in queries if q not in db_index]
        data_list = []
        for name in names:
            path = osp.join(image_dir, name + self.extension)
            if not osp.isfile(path):
                raise FileNotFoundError(f'{owner}: image not found: {path}')
            data_list.append(
                dict(img_path=path,
                     db_index=db_index.get(name, -1),
                     query_index=query_index.get(name, -1),
                     time_of_day=times.get(name, '')))
        gnd = [
            dict(ok=[int(i) for i in entry['ok']],
                 junk=[int(i) for i in entry.get('junk', [])])
            for entry in cfg['gnd']
        ]
        self._metainfo.update(
            gnd=gnd, num_database=len(database), num_queries=len(queries),
            query_times=[times.get(q, '') for q in queries])
        return data_list

    def _times(self, queries: List[str], owner: str) -> dict:
        if self.query_times is None:
            return {}
        path = osp.join(self.data_root, self.query_times) if \
            self.data_root and not osp.isabs(self.query_times) else \
            self.query_times
        if not osp.isfile(path):
            print_log(f'{owner}: no time-of-day file {path}: mAP and recall '
                      'are reported for all queries only (see '
                      'docs/tokyo247.md)', logger='current')
            return {}
        return read_query_times(path, queries, owner)

    def prepare_data(self, idx: int):
        """The pipeline's packed sample, with the retrieval metainfo."""
        info = self.get_data_info(idx)
        results = self.pipeline(info)
        if isinstance(results, dict) and 'data_samples' in results:
            results['data_samples'].set_metainfo({
                key: info[key]
                for key in ('db_index', 'query_index', 'time_of_day')
            })
        return results
