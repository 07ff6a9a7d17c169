from .multi_dataset_loops import MultiDatasetTestLoop, MultiDatasetValLoop
from .two_phase_loop import TwoPhaseTrainLoop, phase_plan

__all__ = [
    'TwoPhaseTrainLoop', 'phase_plan', 'MultiDatasetValLoop',
    'MultiDatasetTestLoop'
]
