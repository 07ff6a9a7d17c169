# Ablation: the darkener's quadratic curve replaced by the reciprocal curve
# y = x / (x + a (1 - x)) (paper, CODaN: 62.60 vs 65.87; the reference does
# not publish its form, this one is ours: docs/deviations.md). Same
# estimation network, exposure input and stage-1 losses; the flexibility loss
# reads B = 1 and is 0, not applicable
# (mmsimmm/models/darkeners/curve_families.py).
_base_ = ['../synthetic_streets_simmm.py']
model = dict(darkener=dict(curve=dict(type='mmsimmm.ReciprocalCurve')))
