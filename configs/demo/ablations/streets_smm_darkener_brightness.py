# Ablation: the darkener's quadratic curve replaced by a per-pixel brightness
# scale y = s * x (paper, CODaN: 57.96 vs 65.87). Same estimation network,
# exposure input and stage-1 losses; the flexibility loss reads B = 1 and is
# 0, not applicable (mmsimmm/models/darkeners/curve_families.py).
_base_ = ['../synthetic_streets_simmm.py']
model = dict(darkener=dict(curve=dict(type='mmsimmm.BrightnessCurve')))
