"""Day-vs-night feature gap of task models, per layer (the paper's proof of
concept): paired cosine similarity, MMD and a t-SNE plot.

    python tools/analysis/feature_similarity.py CONFIG CKPT [CKPT ...]
        [--names baseline smm] [--day DIR --night DIR]
        [--against night|darkened] [--darkener CKPT] [--exposure 0.05]
        [--max-pairs 100] [--size H W] [--device cpu|cuda] [--out-dir DIR]

CONFIG is an SMM config or the plain task config (each checkpoint's task
weights are loaded strictly: SMM or plain task-model checkpoints). Pairs are
images with the same relative path under the day and the night folder; by
default the first two test sets of the config (the demo's day and night
renderings of the same scenes). ``--against darkened`` compares each day
image with its darkened view by the SMM darkener of ``--darkener`` (default:
the last checkpoint holding one), at ``--exposure`` or stage-2 maps E'.

Layers are the task adapter's L_D^sim taps (the backbone stages for mmseg).
Per layer and checkpoint:
* cosine: per pair, the channel cosine similarity at each location, mean
  over locations (the measure of L_D^sim); mean and std over pairs;
* MMD^2 between the globally average-pooled day and night features: biased
  (V-statistic) estimate with the Gaussian kernel exp(-|a-b|^2 / (2 s^2)),
  s = median pairwise distance of the pooled day + night vectors (median
  heuristic), per checkpoint and layer;
* t-SNE (exact, numpy) of the last layer's pooled features, one panel per
  checkpoint.
Writes ``feature_similarity.md``, ``feature_similarity.json`` and
``feature_tsne.png`` to ``--out-dir``; prints the table.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List

import mmsimmm  # noqa: F401  (version checks + compatibility fixes)
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction

from mmsimmm.registry import TASK_ADAPTERS
from mmsimmm.visualization.darkening import (darken_images, list_images,
                                             read_rgb)
from mmsimmm.visualization.feature_stats import (gaussian_mmd2,
                                                 paired_cosine_similarity,
                                                 pooled, tsne)
from mmsimmm.visualization.loading import (load_smm_model, load_task_model,
                                           load_tool_config, model_config,
                                           resolve_device)
from mmsimmm.utils.config_utils import read_state_dict


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='SMM or plain task config')
    parser.add_argument('checkpoints', nargs='+', help='checkpoints')
    parser.add_argument('--names', nargs='+',
                        help='one name per checkpoint (default: its folder)')
    parser.add_argument('--day', help='folder of day images')
    parser.add_argument('--night', help='folder of night images (same '
                        'relative paths as the day ones)')
    parser.add_argument('--against', choices=('night', 'darkened'),
                        default='night')
    parser.add_argument('--darkener', help='SMM checkpoint whose darkener '
                        'makes the darkened views (--against darkened)')
    parser.add_argument('--exposure', type=float, default=None,
                        help="fixed exposure of the darkened views; "
                        "default: stage-2 maps E'")
    parser.add_argument('--max-pairs', type=int, default=100)
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help='resize the images to H x W first')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='work_dirs/feature_similarity')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, k=v')
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.checkpoints):
        parser.error(f'--names: {len(args.names)} names for '
                     f'{len(args.checkpoints)} checkpoints')
    if (args.day is None) != (args.night is None) and \
            args.against == 'night':
        parser.error('give both --day and --night, or neither')
    return args


def test_set_folders(cfg, config: str) -> List[str]:
    """Image folders of the config's first two test sets."""
    loaders = cfg.get('test_dataloader', None)
    if not isinstance(loaders, (list, tuple)) or len(loaders) < 2:
        raise SystemExit(f'{config}: test_dataloader is not a list of day '
                         'and night sets; give --day and --night')
    folders = []
    for loader in loaders[:2]:
        dataset = loader['dataset']
        prefix = dataset.get('data_prefix', '')
        if isinstance(prefix, dict):
            prefix = prefix.get('img_path', '')
        folders.append(osp.join(dataset.get('data_root', '') or '', prefix))
    return folders


def paired_names(day: str, night: str, limit: int) -> List[str]:
    for folder in (day, night):
        if not osp.isdir(folder):
            raise SystemExit(f'image folder not found: {folder}')
    common = sorted(set(list_images(day)) & set(list_images(night)))
    if not common:
        raise SystemExit(f'no image has the same relative path under {day} '
                         f'and {night} (pairs are matched by path)')
    if len(common) < 2:
        raise SystemExit(f'only 1 image pair under {day} and {night}; '
                         'MMD and t-SNE need several')
    return common[:limit]


def load_pair(args, names, index, smm, generator, device):
    """(day, other) as (1, 3, H, W) RGB in [0, 1] on ``device``."""
    name = names[index]
    day = read_rgb(osp.join(args.day, name))[None].to(device)
    if args.size:
        day = F.interpolate(day, size=tuple(args.size), mode='bilinear',
                            align_corners=False)
    if smm is not None:
        other, _ = darken_images(smm, day, args.exposure, generator)
        return day, other
    other = read_rgb(osp.join(args.night, name))[None].to(device)
    if other.shape != day.shape:
        other = F.interpolate(other, size=day.shape[-2:], mode='bilinear',
                              align_corners=False)
    return day, other


@torch.no_grad()
def layer_features(task_model, adapter, day, other) -> Dict[str, tuple]:
    """{layer: (day features, other features)} at the adapter's taps."""
    from mmsimmm.models.task_adapters import flatten_features
    from mmsimmm.models.utils import FeatureRecorder
    preprocessor = task_model.data_preprocessor
    both = torch.cat([day, other])
    inputs = adapter.from_unit_rgb(preprocessor, both, both)
    with FeatureRecorder(task_model, adapter.darken_taps) as recorder:
        adapter.extract_features(task_model, inputs)
        return {
            f'{tap}[{i}]': tuple(feature.chunk(2))
            for tap in adapter.darken_taps
            for i, feature in enumerate(flatten_features(recorder[tap]))
        }


def analyse(args, cfg, checkpoint, names, smm, device) -> dict:
    """Per layer: per-pair cosine similarities and pooled features."""
    task_model = load_task_model(cfg, args.config, checkpoint, device)
    from mmsimmm.models.task_adapters.selection import task_adapter_cfg
    adapter_cfg = cfg.model.get('task_adapter', None) if str(
        cfg.model.get('type', '')).endswith('SimMinMax') else None
    adapter = TASK_ADAPTERS.build(
        dict(task_adapter_cfg(adapter_cfg, task_model), _scope_='mmsimmm'))
    adapter.set_preprocessor_cfg(
        model_config(cfg, task_only=True).get('data_preprocessor'))
    # the same darkened views for every checkpoint
    generator = torch.Generator(device=device).manual_seed(args.seed)
    layers: Dict[str, dict] = {}
    for index in range(len(names)):
        day, other = load_pair(args, names, index, smm, generator, device)
        for layer, (f_day, f_other) in layer_features(
                task_model, adapter, day, other).items():
            entry = layers.setdefault(layer, dict(cos=[], day=[], other=[]))
            entry['cos'].append(paired_cosine_similarity(f_day,
                                                         f_other).item())
            entry['day'].append(pooled(f_day)[0].cpu())
            entry['other'].append(pooled(f_other)[0].cpu())
    return layers


def summarise(layers: dict) -> List[dict]:
    rows = []
    for layer, entry in layers.items():
        mmd2, sigma = gaussian_mmd2(torch.stack(entry['day']),
                                    torch.stack(entry['other']))
        rows.append(dict(layer=layer, cosine_mean=float(np.mean(entry['cos'])),
                         cosine_std=float(np.std(entry['cos'])), mmd2=mmd2,
                         bandwidth=sigma))
    return rows


def markdown(results: Dict[str, List[dict]], other: str, pairs: int) -> str:
    lines = [
        f'Day vs {other}: {pairs} pairs. cosine: per-location channel '
        'cosine similarity, mean over locations, then over pairs (± std); '
        'MMD²: biased estimate, Gaussian kernel, bandwidth s = median '
        'pairwise distance of the pooled features (median heuristic).', '',
        '| checkpoint | layer | cosine | MMD² | s |', '|---|---|---|---|---|'
    ]
    for name, rows in results.items():
        for row in rows:
            lines.append(f"| {name} | {row['layer']} | "
                         f"{row['cosine_mean']:.4f} ± {row['cosine_std']:.4f}"
                         f" | {row['mmd2']:.4f} | {row['bandwidth']:.3g} |")
        mean_cos = np.mean([r['cosine_mean'] for r in rows])
        mean_mmd = np.mean([r['mmd2'] for r in rows])
        lines.append(f'| {name} | mean of layers | {mean_cos:.4f} | '
                     f'{mean_mmd:.4f} | |')
    return '\n'.join(lines) + '\n'


def plot_tsne(path, embeddings: Dict[str, np.ndarray], titles, other: str,
              pairs: int) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(embeddings),
                                figsize=(4.2 * len(embeddings), 4.2),
                                squeeze=False)
    for axis, (name, points) in zip(axes[0], embeddings.items()):
        day, dark = points[:pairs], points[pairs:]
        for a, b in zip(day, dark):
            axis.plot([a[0], b[0]], [a[1], b[1]], color='0.85', lw=0.6,
                      zorder=1)
        axis.scatter(day[:, 0], day[:, 1], s=14, c='tab:orange',
                     label='day', zorder=2)
        axis.scatter(dark[:, 0], dark[:, 1], s=14, c='tab:blue', marker='^',
                     label=other, zorder=2)
        axis.set_title(f'{name}\n{titles[name]}', fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0][0].legend(fontsize=8, loc='best')
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    args = parse_args(argv)
    device = resolve_device(args.device)
    cfg = load_tool_config(args.config, args.cfg_options)
    smm = None
    if args.against == 'darkened':
        darkener = args.darkener or next(
            (c for c in reversed(args.checkpoints) if osp.isfile(c) and any(
                k.startswith('darkener.') for k in read_state_dict(c))),
            None)
        if darkener is None:
            raise SystemExit('--against darkened: no checkpoint holds a '
                             'darkener; give an SMM one with --darkener')
        smm = load_smm_model(args.config, darkener, device, args.cfg_options)
        if args.day is None:
            args.day = test_set_folders(cfg, args.config)[0]
        args.night = args.day
    elif args.day is None:
        args.day, args.night = test_set_folders(cfg, args.config)
    names = paired_names(args.day, args.night, args.max_pairs)
    run_names = args.names or [
        osp.basename(osp.dirname(osp.abspath(c))) or osp.basename(c)
        for c in args.checkpoints
    ]
    other = 'darkened' if smm is not None else 'night'
    results, embeddings, titles = {}, {}, {}
    for name, checkpoint in zip(run_names, args.checkpoints):
        layers = analyse(args, cfg, checkpoint, names, smm, device)
        results[name] = summarise(layers)
        last = list(layers)[-1]
        points = torch.cat([torch.stack(layers[last]['day']),
                            torch.stack(layers[last]['other'])]).cpu().numpy()
        embeddings[name] = tsne(points, seed=args.seed)
        row = results[name][-1]
        titles[name] = (f"{last}: cosine {row['cosine_mean']:.3f}, "
                        f"MMD² {row['mmd2']:.3f}")
    os.makedirs(args.out_dir, exist_ok=True)
    table = markdown(results, other, len(names))
    with open(osp.join(args.out_dir, 'feature_similarity.md'), 'w') as file:
        file.write(table)
    with open(osp.join(args.out_dir, 'feature_similarity.json'), 'w') as file:
        json.dump(dict(config=args.config, checkpoints=dict(
            zip(run_names, args.checkpoints)), day=args.day,
            other=other if smm is not None else args.night,
            pairs=len(names), results=results), file, indent=2)
    tsne_path = osp.join(args.out_dir, 'feature_tsne.png')
    plot_tsne(tsne_path, embeddings, titles, other, len(names))
    print(table + f'\nwritten: {args.out_dir}/feature_similarity.md, '
          f'feature_similarity.json, feature_tsne.png')


if __name__ == '__main__':
    sys.exit(main())
