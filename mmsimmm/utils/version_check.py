"""Fail early, in one line, when the installed stack is not one mmsimmm supports.

``MMSIMMM_SKIP_VERSION_CHECK=1`` turns the error into a warning, for
running on a stack outside the pins (e.g. a GPU image with its own torch and
numpy); such a stack is not supported.
"""
import os
import warnings
from importlib import metadata

from packaging.version import Version

# package -> (min inclusive, max exclusive, why)
SUPPORTED = {
    'torch': ('2.0.0', '3.0.0', 'PyTorch 2.x'),
    'mmengine': ('0.10.0', '1.0.0', 'mmengine 0.10'),
    'mmcv': ('2.0.0rc4', '2.2.0', 'mmseg 1.2 / mmaction2 1.2 assert mmcv<2.2'),
    'numpy': ('1.20.0', '2.0.0', 'numpy 2 breaks mmaction2 / mmpretrain at run time'),
}
OPTIONAL = {
    'mmsegmentation': ('1.2.0', '2.0.0', 'mmseg 1.x'),
    'mmpretrain': ('1.2.0', '2.0.0', 'mmpretrain 1.x'),
    'mmaction2': ('1.2.0', '2.0.0', 'mmaction2 1.x'),
}
SETUP_HINT = 'run `bash tools/setup_env.sh` (see README)'


def _check(package, bounds, required):
    low, high, why = bounds
    try:
        found = metadata.version(package)
    except metadata.PackageNotFoundError:
        if required:
            raise ImportError(
                f'mmsimmm needs {package} ({why}) but it is not installed; '
                f'{SETUP_HINT}') from None
        return
    if not Version(low) <= Version(found) < Version(high):
        raise ImportError(
            f'mmsimmm needs {low} <= {package} < {high} ({why}), found '
            f'{found}; {SETUP_HINT}')


SKIP_ENV = 'MMSIMMM_SKIP_VERSION_CHECK'


def check_versions():
    if os.environ.get(SKIP_ENV, '0') not in ('', '0'):
        try:
            _check_all()
        except ImportError as error:
            warnings.warn(f'{error} (ignored: {SKIP_ENV} is set)')
        return
    _check_all()


def _check_all():
    for package, bounds in SUPPORTED.items():
        _check(package, bounds, required=True)
    for package, bounds in OPTIONAL.items():
        _check(package, bounds, required=False)
    try:  # mmcv-lite installs as `mmcv` but lacks the compiled ops mmseg imports
        import importlib.util
        if importlib.util.find_spec('mmcv._ext') is None:
            raise ImportError(
                'mmsimmm needs the full mmcv build with ops (mmcv._ext missing; '
                f'mmcv-lite is not enough); {SETUP_HINT}')
    except ModuleNotFoundError:
        pass
