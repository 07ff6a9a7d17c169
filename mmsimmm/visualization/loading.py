"""Models of a config + checkpoint for the analysis tools (``tools/darken.py``,
``tools/analysis/feature_similarity.py``): built as the Runner builds them,
weights loaded strictly (every weight from the checkpoint or one line)."""
import copy
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsimmm.registry import MODELS
from mmsimmm.utils.config_utils import (apply_cfg_options,
                                        load_checkpoint_strictly,
                                        one_line_errors, read_state_dict)


def load_tool_config(config: str, cfg_options: Optional[dict] = None
                     ) -> Config:
    """The config file with ``--cfg-options`` applied; its default scope
    becomes the current one (as in the Runner)."""
    if not osp.isfile(config):
        raise SystemExit(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg = apply_cfg_options(config, cfg, cfg_options)
    init_default_scope(cfg.get('default_scope', None) or 'mmsimmm')
    return cfg


def model_config(cfg: Config, task_only: bool = False) -> dict:
    """``cfg.model`` with the top-level ``data_preprocessor`` given to it
    (as the Runner does); ``task_only``: the task model an SMM config
    wraps (a plain task config's model as it is)."""
    from mmsimmm.models.algorithms.sim_min_max import with_preprocessor
    model = copy.deepcopy(cfg.model)
    preprocessor = cfg.get('data_preprocessor', None)
    is_smm = str(model.get('type', '')).endswith('SimMinMax')
    if task_only and is_smm:
        preprocessor = model.get('data_preprocessor', preprocessor)
        model = model['task_model']
    if preprocessor is None:
        return model
    if task_only:
        return with_preprocessor(model, preprocessor)
    model.setdefault('data_preprocessor', preprocessor)
    return model


def check_checkpoint(path: str) -> None:
    if not osp.isfile(path):
        raise SystemExit(f'checkpoint not found: {path}')


def load_smm_model(config: str, checkpoint: str, device: str = 'cpu',
                   cfg_options: Optional[dict] = None):
    """The trained ``SimMinMax`` of an SMM config and checkpoint, in eval
    mode on ``device``; the checkpoint must hold the darkener."""
    cfg = load_tool_config(config, cfg_options)
    check_checkpoint(checkpoint)
    if not any(k.startswith('darkener.') for k in read_state_dict(checkpoint)):
        raise SystemExit(f'{checkpoint}: holds no darkener weights (a plain '
                         'task-model checkpoint?); give an SMM checkpoint')
    with one_line_errors(config):
        model = MODELS.build(model_config(cfg))
    if not hasattr(model, 'darken_view'):
        raise SystemExit(f'{config}: its model is {type(model).__name__}, '
                         'not mmsimmm.SimMinMax; give the SMM config the '
                         'checkpoint was trained with')
    load_checkpoint_strictly(model, checkpoint)
    return model.to(device).eval()


def load_task_model(cfg: Config, config: str, checkpoint: str,
                    device: str = 'cpu'):
    """The task model of ``cfg`` (an SMM config's ``task_model``, or a plain
    task config's model) with the task weights of ``checkpoint`` (SMM or
    plain), in eval mode on ``device``."""
    check_checkpoint(checkpoint)
    with one_line_errors(config):
        model = MODELS.build(model_config(cfg, task_only=True))
    load_checkpoint_strictly(model, checkpoint)
    return model.to(device).eval()


def resolve_device(device: Optional[str]) -> str:
    """'cpu' or 'cuda' (default: cuda where available); one line if cuda
    is asked for without a GPU."""
    if device is None:
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {device}: no CUDA device is available '
                         'here; use --device cpu')
    return device
