import importlib.util

from .algorithms import *  # noqa: F401,F403
from .baselines import *  # noqa: F401,F403
from .darkeners import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .task_adapters import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
from .darkeners import apply_curve  # noqa: F401  (mmsimmm.models.apply_curve)
# the retrieval model subclasses mmpretrain's ImageClassifier
if importlib.util.find_spec('mmpretrain') is not None:
    from .retrieval import *  # noqa: F401,F403
