from .sim_min_max import PHASE_KEY, PHASES, SimMinMax, frozen

__all__ = ['SimMinMax', 'PHASE_KEY', 'PHASES', 'frozen']
