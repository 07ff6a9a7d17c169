"""mmsimmm registries: children of mmengine's roots, scope ``mmsimmm``.

``locations`` make ``MODELS.build(dict(type='mmsimmm.X'))`` import the module that
registers ``X`` on first use, so configs work without custom_imports.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['mmsimmm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['mmsimmm.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['mmsimmm.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['mmsimmm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['mmsimmm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmsimmm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['mmsimmm.engine'])

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['mmsimmm.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
    locations=['mmsimmm.models'])
# Task adapters: one per downstream library (mmseg, mmpretrain, mmaction).
TASK_ADAPTERS = Registry(
    'task adapter', scope='mmsimmm', locations=['mmsimmm.models.task_adapters'])

DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['mmsimmm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS,
    locations=['mmsimmm.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['mmsimmm.datasets'])
# collate functions (``collate_fn=dict(type='mmsimmm.tuple_collate')``)
FUNCTIONS = Registry(
    'function', parent=MMENGINE_FUNCTIONS, locations=['mmsimmm.datasets'])
TASK_UTILS = Registry(
    'task util', parent=MMENGINE_TASK_UTILS, locations=['mmsimmm.models'])

METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['mmsimmm.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['mmsimmm.evaluation'])

VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS,
    locations=['mmsimmm.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS,
    locations=['mmsimmm.visualization'])
