from .sim_min_max_constructor import SimMinMaxOptimWrapperConstructor

__all__ = ['SimMinMaxOptimWrapperConstructor']
