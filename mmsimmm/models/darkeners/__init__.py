from .curve_darkener import CurveDarkener, apply_curve, exposure_as_map

__all__ = ['CurveDarkener', 'apply_curve', 'exposure_as_map']
