"""Compatibility fixes for upstream breakages of the pinned stack, applied once at import.

Each fix touches no installed file and is a no-op where upstream is already fine:

* mmaction2 1.2.0 wheels lack ``mmaction/models/localizers/drn/`` (open-mmlab/mmaction2#2714),
  so ``import mmaction.models`` fails. We register stub modules exposing ``DRN = None``
  (DRN, a temporal-grounding localizer, is simply unavailable).
* torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine 0.10.7 pickles
  ``HistoryBuffer`` and numpy objects in every checkpoint, so ``load_from`` / ``--resume``
  fail. We set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` unless the user chose otherwise.
  This restores full unpickling: only load checkpoints you trust.
"""
import importlib.util
import os
import sys
import types

WEIGHTS_ONLY_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


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


def allow_full_checkpoint_unpickling() -> None:
    os.environ.setdefault(WEIGHTS_ONLY_ENV, '1')


def apply_all() -> None:
    stub_mmaction_drn()
    allow_full_checkpoint_unpickling()
