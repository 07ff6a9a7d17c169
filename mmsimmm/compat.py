"""Compatibility fixes for the pinned stack and safe checkpoint loading,
applied once at import.

Each fix touches no installed file and is a no-op where upstream is already fine:

* mmaction2 1.2.0 wheels lack ``mmaction/models/localizers/drn/`` (open-mmlab/mmaction2#2714),
  so ``import mmaction.models`` fails. We register stub modules exposing ``DRN = None``
  (DRN, a temporal-grounding localizer, is simply unavailable).
* Checkpoints load with torch's ``weights_only=True`` (never with full unpickling):
  numpy scalars and dtypes, which mmengine writes into checkpoint metadata, are
  allow-listed; mmengine's local checkpoint loader is replaced by one that turns a
  refused, truncated or corrupt file into a one-line :class:`CheckpointError`
  naming the file (and, for a refused one, how to convert it if trusted). The
  package's checkpoints keep the MessageHub as plain data
  (:class:`mmsimmm.engine.hooks.PlainMessageHubHook`), so they load safely.
"""
import importlib.util
import os
import os.path as osp
import pickle
import re
import sys
import types
import zipfile
from typing import List

import numpy as np
import torch

from .errors import CheckpointError

CONVERT_TOOL = 'tools/convert_checkpoint.py'


def _mmaction_drn_missing() -> bool:
    try:
        spec = importlib.util.find_spec('mmaction')
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    root = list(spec.submodule_search_locations)[0]
    return not os.path.isdir(
        os.path.join(root, 'models', 'localizers', 'drn'))


def stub_mmaction_drn() -> bool:
    """Register ``mmaction.models.localizers.drn(.drn)`` stubs if the package lacks them."""
    name = 'mmaction.models.localizers.drn'
    if name in sys.modules or not _mmaction_drn_missing():
        return False
    package = types.ModuleType(name)
    package.__path__ = []  # a package, so the ``.drn`` submodule import resolves
    module = types.ModuleType(name + '.drn')
    module.DRN = None
    package.drn = module
    sys.modules[name] = package
    sys.modules[name + '.drn'] = module
    return True


def harmless_numpy_globals() -> list:
    """numpy scalar reconstruction and dtypes: they build numbers and type
    descriptions only (no arrays, no callables of the user's choice)."""
    allowed = [np.core.multiarray.scalar, np.dtype]
    numeric = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
               np.uint16, np.uint32, np.uint64, np.float16, np.float32,
               np.float64)
    # numpy >= 1.25 pickles a dtype by its class (numpy.dtypes.Float64DType)
    allowed += [type(np.dtype(t)) for t in numeric
                if type(np.dtype(t)) is not np.dtype]
    return allowed


def allow_harmless_numpy_globals() -> None:
    torch.serialization.add_safe_globals(harmless_numpy_globals())


def unsafe_globals(filename: str) -> List[str]:
    """The globals of ``filename``'s pickle that ``weights_only`` refuses
    (read without unpickling); [] if the file cannot be scanned."""
    try:
        return list(
            torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    except Exception:  # a truncated / legacy file: no list to give
        return []


def _is_damage(error: Exception) -> bool:
    if isinstance(error, (EOFError, zipfile.BadZipFile)):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and (
        'PytorchStreamReader' in text or 'zip archive' in text
        or 'unexpected EOF' in text)


def safe_load_checkpoint(filename: str, map_location=None):
    """``torch.load(filename, weights_only=True)`` with one-line errors.

    Raises:
        CheckpointError: the file is missing, holds objects that
            ``weights_only`` refuses (the message names them and says how to
            convert a trusted file), or is truncated / corrupt.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointError(f'{filename}: checkpoint not found')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as error:
        refused = unsafe_globals(filename)
        if not refused:
            found = re.findall(r'GLOBAL ([\w.]+)', str(error))
            refused = found[:1]
        if refused:
            raise CheckpointError(
                f'{filename}: refused to load: it pickles '
                f'{", ".join(sorted(set(refused)))}, which could run code '
                f"(torch.load weights_only=True). If you trust the file, "
                f'convert it once: python {CONVERT_TOOL} --trust {filename} '
                f'{osp.splitext(filename)[0]}_safe.pth') from None
        raise CheckpointError(f'{filename}: not a readable checkpoint '
                              f'(truncated or corrupt: {error})') from None
    except Exception as error:
        if _is_damage(error):
            message = str(error).strip().splitlines()[0]
            raise CheckpointError(
                f'{filename}: not a readable checkpoint (truncated or '
                f'corrupt: {message})') from None
        raise


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's loader of local paths, with :func:`safe_load_checkpoint`."""
    return safe_load_checkpoint(filename, map_location)


def register_safe_checkpoint_loader() -> None:
    """Replace mmengine's loader of local files (``load_from``, ``--resume``,
    ``load_checkpoint``) by :func:`load_local_checkpoint`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)


def init_cpu_distributed(cfg) -> bool:
    """Prepare a ``--launcher pytorch`` run (``cfg.launcher``) on a machine
    without CUDA, which mmengine cannot start: its ``init_dist`` calls
    ``torch.cuda.set_device`` and its DDP wrappers get ``device_ids`` of a
    GPU. Starts a gloo process group (nccl needs CUDA, whatever
    ``dist_cfg`` says; the Runner then skips its own ``init_dist``) and sets
    ``model_wrapper_cfg.device_ids=None`` (DDP of CPU modules). Returns
    whether it did."""
    import torch.distributed as dist
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:  # mmengine's default wrapper, without device_ids
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = dict(wrapper, device_ids=None)
    return True


def apply_all() -> None:
    stub_mmaction_drn()
    allow_harmless_numpy_globals()
    register_safe_checkpoint_loader()
