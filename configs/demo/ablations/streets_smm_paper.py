# SMM with the paper's setting on the demo task: no sensor noise on D's
# output (the reference has none), a uniform E' (no pools of light), 8-bit
# darkened view as the reference.
_base_ = ['../synthetic_streets_simmm.py']
model = dict(
    dark_noise=None,
    quantize_dark=True,
    night_exposure=dict(
        type='mmsimmm.NightExposureSampler', patch_size=16,
        light_pools=None))
