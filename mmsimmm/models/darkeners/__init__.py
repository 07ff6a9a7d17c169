from .curve_darkener import CurveDarkener, apply_curve, exposure_as_map
from .curve_families import (BrightnessCurve, CurveFamily, GammaCurve,
                             ReciprocalCurve)

__all__ = [
    'CurveDarkener', 'apply_curve', 'exposure_as_map', 'CurveFamily',
    'BrightnessCurve', 'GammaCurve', 'ReciprocalCurve'
]
