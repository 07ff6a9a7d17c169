# Ablation: stage 2 without L_F^sim (no BYOL): task loss on both views only.
_base_ = ['../objects_simmm.py']
model = dict(projector=None, predictor=None)
