"""Config helpers shared by tools/train.py, tools/test.py and the demo."""
import argparse
import ast
import inspect
import logging
import os
import os.path as osp
import re
import shutil
import tempfile
from contextlib import contextmanager
from typing import Dict, Iterable, List

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

PARTS_CONSTRUCTOR = 'SimMinMaxOptimWrapperConstructor'
PACKAGE_CONFIG_PREFIX = 'mmsimmm::'


# ------------------------------------------------------ mmsimmm:: configs
def package_config_dir() -> str:
    """configs/ as installed (``mmsimmm/.mim/configs``, made by setup.py),
    else that of the source checkout."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    installed = osp.join(package, '.mim', 'configs')
    if osp.isdir(installed):
        return installed
    return osp.join(osp.dirname(package), 'configs')


def enable_package_config_paths() -> None:
    """Make ``_base_ = ['mmsimmm::demo/synthetic_streets_simmm.py']`` work.

    mmengine 0.10 resolves ``pkg::`` only for a fixed list of OpenMMLab
    packages, needs a ``model-index.yml``, misses PEP 660 editable installs
    and stamps ``_scope_='pkg'`` on the base's components. mmsimmm's configs
    are written in their downstream library's scope (``mmseg``) with
    ``mmsimmm.``-prefixed types, so the path is resolved here and no scope is
    stamped. Other ``pkg::`` paths go to mmengine unchanged.
    """
    resolve = Config._get_cfg_path
    if getattr(resolve, 'resolves_mmsimmm', False):
        return

    def get_cfg_path(cfg_path: str, filename: str):
        if not cfg_path.startswith(PACKAGE_CONFIG_PREFIX):
            return resolve(cfg_path, filename)
        relative = cfg_path[len(PACKAGE_CONFIG_PREFIX):]
        path = osp.join(package_config_dir(), relative)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{filename}: base config {cfg_path} not found (mmsimmm '
                f'configs: {package_config_dir()})')
        return path, None

    get_cfg_path.resolves_mmsimmm = True
    Config._get_cfg_path = staticmethod(get_cfg_path)


# importing mmsimmm (which imports this module) is all a config user does
enable_package_config_paths()


# ------------------------------------------------- command-line overrides
def _top_level_assignments(tree: ast.Module) -> Dict[str, ast.AST]:
    """name -> value node of ``name = value`` statements at module level."""
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value
    return values


def _replace_spans(text: str, edits: list) -> str:
    """Replace the source of each AST node in ``edits`` [(node, new)]."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(line, col):  # ast columns count UTF-8 bytes
        line_text = text[starts[line - 1]:starts[line]]
        return starts[line - 1] + len(
            line_text.encode()[:col].decode(errors='ignore'))

    spans = [(offset(n.lineno, n.col_offset),
              offset(n.end_lineno, n.end_col_offset), new)
             for n, new in edits]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _rewrite_with_knobs(path: str, knobs: dict, out_dir: str,
                        written: Dict[str, str], top: bool = False) -> str:
    """Copy of the config file ``path`` (and of its local bases) into
    ``out_dir`` in which each top-level ``knob = value`` assignment reads
    the new value; returns the copy's path."""
    path = osp.abspath(path)
    if path in written:
        return written[path]
    expanded = osp.join(out_dir, 'expanded.py')
    Config._substitute_predefined_vars(path, expanded)  # {{ fileDirname }}
    with open(expanded, encoding='utf-8') as f:
        text = f.read()
    tree = ast.parse(text)  # `{{_base_.x}}` parses (a set of a set)
    edits = []
    for name, node in _top_level_assignments(tree).items():
        if name in knobs:
            edits.append((node, repr(knobs[name])))
        elif name == '_base_':
            bases = ast.literal_eval(node)
            as_list = [bases] if isinstance(bases, str) else list(bases)
            new = [
                b if '::' in b else _rewrite_with_knobs(
                    osp.join(osp.dirname(path), b), knobs, out_dir, written)
                for b in as_list
            ]
            edits.append((node, repr(new)))
    # the top-level copy keeps its name: the Runner dumps the config by it
    name = osp.basename(path) if top else \
        f'base{len(written)}_{osp.basename(path)}'
    written[path] = osp.join(out_dir, name)
    with open(written[path], 'w', encoding='utf-8') as f:
        f.write(_replace_spans(text, edits))
    return written[path]


def fromfile_with_knobs(filename: str, knobs: dict) -> Config:
    """``Config.fromfile`` with top-level variables of the config files
    (``darken_iters = 150``) set to ``knobs`` where they are assigned, so
    every value derived from them in the files (``train_cfg``,
    ``param_scheduler`` boundaries, intervals) follows."""
    out_dir = tempfile.mkdtemp(prefix='mmsimmm_cfg_')
    try:
        path = _rewrite_with_knobs(filename, knobs, out_dir, {}, top=True)
        cfg = Config.fromfile(path)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    # the user's file, not the deleted copy (Config's setattr sets keys)
    object.__setattr__(cfg, '_filename', filename)
    return cfg


def _runner_arguments() -> set:
    """Top-level keys the Runner reads even when a config omits them."""
    from mmengine.runner import Runner
    return set(inspect.signature(Runner.__init__).parameters) | {
        'runner_type', 'launcher'
    }


def _has_key(cfg: Config, dotted: str) -> bool:
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for part in dotted.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def unread_options(cfg: Config, options: dict) -> List[str]:
    """Keys of ``--cfg-options`` that name nothing in the config (and are no
    Runner argument): most likely misspelt, read by nothing."""
    runner_keys = _runner_arguments()
    return [
        key for key in options
        if key not in runner_keys and not _has_key(cfg, key)
    ]


def apply_cfg_options(filename: str, cfg: Config, options: dict) -> Config:
    """``--cfg-options`` applied to ``cfg`` (loaded from ``filename``).

    Keys naming a top-level non-dict variable (``darken_iters=3``) are set
    where the config files assign them and the files re-read, so values
    derived from them follow; all keys are then merged as mmengine does.
    Keys that name nothing in the config are warned about, one line each.
    """
    for key in unread_options(cfg, options):
        print_log(f'--cfg-options {key}: {filename} has no such key, so '
                  'nothing may read it (misspelt?)', logger='current',
                  level=logging.WARNING)
    knobs = {
        k: v for k, v in options.items()
        if '.' not in k and k in cfg and not isinstance(cfg[k], dict)
    }
    if knobs:
        cfg = fromfile_with_knobs(filename, knobs)
    cfg.merge_from_dict(options)
    return cfg


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments tools/train.py and tools/test.py share (OpenMMLab style)."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the shared arguments applied; the
    work dir defaults to ``./work_dirs/<config name>``."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg = apply_cfg_options(args.config, cfg, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def enable_amp(cfg: Config) -> None:
    """Turn every optimiser wrapper of ``cfg`` into an ``AmpOptimWrapper``
    (each part of an SMM ``OptimWrapperDict`` separately: the dict itself
    cannot step)."""
    optim_wrapper = cfg.optim_wrapper
    if str(optim_wrapper.get('constructor', '')).endswith(PARTS_CONSTRUCTOR):
        parts = [
            v for k, v in optim_wrapper.items()
            if k not in ('constructor', 'paramwise_cfg')
        ]
    else:
        parts = [optim_wrapper]
    for part in parts:
        part['type'] = 'AmpOptimWrapper'
        part.setdefault('loss_scale', 'dynamic')


def _dataset_paths(dataset: dict) -> List[str]:
    """Directories a dataset config reads (recursing into wrappers)."""
    if not isinstance(dataset, dict):
        return []
    nested = dataset.get('datasets', None) or (
        [dataset['dataset']] if 'dataset' in dataset else [])
    if nested:
        return [p for d in nested for p in _dataset_paths(d)]
    root = dataset.get('data_root', '') or ''
    if '://' in root:  # remote storage: not checked
        return []
    prefixes = dataset.get('data_prefix', {}) or {}
    if isinstance(prefixes, str):  # mmpretrain's data_prefix='train'
        prefixes = dict(img_path=prefixes)
    paths = [
        osp.join(root, p) for p in prefixes.values()
        if isinstance(p, str) and p and '://' not in p
    ]
    if dataset.get('ann_file'):
        paths.append(osp.join(root, dataset['ann_file']))
    return paths or ([root] if root else [])


def _holds_files(directory: str) -> bool:
    """Whether any file lies under ``directory`` (stops at the first)."""
    return any(files for _, _, files in os.walk(directory))


def check_data_paths(cfg: Config, keys: Iterable[str]) -> None:
    """Fail with one line naming the first missing data path (or
    ``load_from`` checkpoint) before any work is done; a Runner would fail
    deep inside a dataset instead."""
    for key in keys:
        loaders = cfg.get(key, None)
        if loaders is None:
            continue
        for loader in loaders if isinstance(loaders, list) else [loaders]:
            for path in _dataset_paths(loader.get('dataset', {})):
                if not osp.exists(path):
                    raise SystemExit(
                        f'{key}: data path not found: {path} (lay the '
                        'dataset out as its library documents, see README '
                        "'Datasets', or override data_root)")
                if osp.isdir(path) and not _holds_files(path):
                    raise SystemExit(f'{key}: data path holds no files: '
                                     f'{path}')
    load_from = cfg.get('load_from', None)
    if load_from and not osp.isfile(load_from) and '://' not in load_from:
        raise SystemExit(f'load_from: checkpoint not found: {load_from}')


def add_dump_results(cfg: Config, out_file: str) -> None:
    """Dump test predictions with mmengine's ``DumpResults``; with several
    test sets each gets ``<out>.<index>.pkl``."""
    evaluators = cfg.test_evaluator
    multi = str(cfg.test_cfg.get('type', '')).endswith('MultiDatasetTestLoop')
    if not multi:
        evaluators = [evaluators]
    stem, ext = osp.splitext(out_file)
    dumped = []
    for index, evaluator in enumerate(evaluators):
        path = f'{stem}.{index}{ext or ".pkl"}' if multi else out_file
        dump = dict(type='DumpResults', out_file_path=path)
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        dumped.append(list(metrics) + [dump])
    cfg.test_evaluator = dumped if multi else dumped[0]


# ------------------------------------------------------ one-line failures
REGISTRY_MISS = re.compile(r'(\S+) is not in the (\w+)::(.+?) registry')


def _registry_tree(scope: str, name: str):
    """The registry of ``scope::name`` and every registry of its tree."""
    import mmengine.registry as roots
    from mmengine.registry import Registry
    for root in vars(roots).values():
        if not isinstance(root, Registry) or root.parent is not None or \
                root.name != name:
            continue
        registries, queue = [], [root]
        while queue:
            registry = queue.pop()
            registries.append(registry)
            queue.extend(registry.children.values())
        found = [r for r in registries if r.scope == scope]
        if found:
            return found[0], registries
    return None, []


def closest_registered_name(type_name: str, scope: str,
                            registry_name: str):
    """The registered name closest to ``type_name`` (difflib), searched in
    the ``scope::registry_name`` registry (plain and scope-prefixed names)
    and, scope-prefixed, in the other registries of its tree."""
    import difflib
    registry, tree = _registry_tree(scope, registry_name)
    if registry is None:
        return None
    candidates = []
    for other in tree:
        other.import_from_location()
        for key in other.module_dict:
            candidates.append(f'{other.scope}.{key}')
            if other is registry or other.scope == 'mmengine':
                candidates.append(key)
    base = type_name.split('.')[-1]
    matches = difflib.get_close_matches(type_name, candidates, n=1,
                                        cutoff=0.6) or \
        difflib.get_close_matches(base, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def explain_registry_error(error: KeyError, config: str):
    """One line for mmengine's "X is not in the scope::name registry"
    (raised, maybe nested, while building from ``config``), with the
    closest registered name; ``None`` for other errors."""
    match = REGISTRY_MISS.search(str(error.args[0]) if error.args else '')
    if match is None:
        return None
    type_name, scope, registry_name = match.groups()
    line = (f"{config}: type '{type_name}' is not in the {scope}::"
            f'{registry_name} registry')
    suggestion = closest_registered_name(type_name, scope, registry_name)
    return f"{line}; did you mean '{suggestion}'?" if suggestion else line


@contextmanager
def one_line_errors(config: str):
    """Inside, a misspelt registered type stops the tool with one line
    naming the config, the type and the closest registered name."""
    try:
        yield
    except KeyError as error:
        line = explain_registry_error(error, config)
        if line is None:
            raise
        raise SystemExit(line) from None


# ------------------------------------------------------------ checkpoints
TASK_PREFIX = 'task_model.'


def read_state_dict(path: str) -> dict:
    """The ``state_dict`` of a checkpoint file (or the file's dict itself),
    read by mmengine's loader on the CPU."""
    from mmengine.runner.checkpoint import _load_checkpoint
    checkpoint = _load_checkpoint(path, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise SystemExit(f'{path}: not a checkpoint (a '
                         f'{type(checkpoint).__name__}, not a dict)')
    state = checkpoint.get('state_dict', checkpoint)
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state.items()}


def fit_state_dict(model, state: dict, path: str,
                   for_training: bool = False) -> dict:
    """The weights of checkpoint ``path`` for ``model``, or ``SystemExit``
    with one line when it does not hold them all in the right shapes (a
    checkpoint of another model).

    A plain task model takes the ``task_model.*`` weights of an SMM
    checkpoint (prefix stripped; refused ``for_training``, where the export
    tool is the way); an SMM model takes a plain task-model checkpoint as
    ``SimMinMax`` adopts it into ``task_model`` (checked against that part).
    """
    model = getattr(model, 'module', model)
    own = model.state_dict()
    smm_checkpoint = any(k.startswith(TASK_PREFIX) for k in state)
    smm_model = any(k.startswith(TASK_PREFIX) for k in own)
    expected = own
    if smm_checkpoint and not smm_model:
        if for_training:
            raise SystemExit(
                f'{path}: an SMM checkpoint for a plain task model; write '
                'its task model with tools/export_task_model.py and load '
                'that')
        state = {
            k[len(TASK_PREFIX):]: v
            for k, v in state.items() if k.startswith(TASK_PREFIX)
        }
    elif smm_model and not smm_checkpoint:
        expected = {
            k[len(TASK_PREFIX):]: v
            for k, v in own.items() if k.startswith(TASK_PREFIX)
        }
    missing = [k for k in expected if k not in state]
    mismatched = [
        (k, tuple(state[k].shape), tuple(v.shape))
        for k, v in expected.items()
        if k in state and tuple(getattr(state[k], 'shape', ())) != tuple(
            v.shape)
    ]
    if missing or mismatched:
        problems = []
        if missing:
            problems.append(f'{len(missing)} of its {len(expected)} weights '
                            f"missing (first: '{missing[0]}')")
        if mismatched:
            key, theirs, ours = mismatched[0]
            problems.append(f'{len(mismatched)} of other shapes (first: '
                            f"'{key}' {list(theirs)} here, {list(ours)} in "
                            'the model)')
        raise SystemExit(f'{path}: not a checkpoint of this '
                         f'{type(model).__name__}: ' + '; '.join(problems))
    return state


def load_checkpoint_strictly(model, path: str) -> None:
    """Load checkpoint ``path`` into ``model`` after :func:`fit_state_dict`:
    every weight of the model comes from the checkpoint, or one line."""
    state = fit_state_dict(model, read_state_dict(path), path)
    model = getattr(model, 'module', model)
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        print_log(f'{path}: {len(result.unexpected_keys)} weights the model '
                  f"does not have, ignored (first: "
                  f"'{result.unexpected_keys[0]}')", logger='current',
                  level=logging.WARNING)
