# Ablation: the darkener's quadratic curve replaced by a per-pixel gamma
# y = x ** g (paper, CODaN: 63.96 vs 65.87). Same estimation network,
# exposure input and stage-1 losses; the flexibility loss reads B = 1 and is
# 0, not applicable (mmsimmm/models/darkeners/curve_families.py).
_base_ = ['../objects_simmm.py']
model = dict(darkener=dict(curve=dict(type='mmsimmm.GammaCurve')))
