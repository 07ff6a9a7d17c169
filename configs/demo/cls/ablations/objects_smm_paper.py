# SMM with the paper's setting on the demo objects: a uniform E' (no pools of
# light), no sensor noise on D's output (the reference has none), 8-bit
# darkened view as the reference.
_base_ = ['../objects_simmm.py']
model = dict(
    dark_noise=None,
    quantize_dark=True,
    night_exposure=dict(light_pools=None))
