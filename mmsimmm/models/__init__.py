from .algorithms import *  # noqa: F401,F403
from .baselines import *  # noqa: F401,F403
from .darkeners import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .task_adapters import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
from .darkeners import apply_curve  # noqa: F401  (mmsimmm.models.apply_curve)
