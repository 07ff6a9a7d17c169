"""mmsimmm: Similarity Min-Max zero-shot day-night adaptation for OpenMMLab 2.x."""
from .version import __version__
from .utils.version_check import check_versions
from . import compat

check_versions()
compat.apply_all()

__all__ = ['__version__']
