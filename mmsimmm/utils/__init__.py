from .config_utils import (add_dump_results, add_runner_arguments,
                           check_data_paths, enable_amp, load_config)
from .version_check import check_versions

__all__ = [
    'check_versions', 'enable_amp', 'check_data_paths', 'add_dump_results',
    'add_runner_arguments', 'load_config'
]
