# Beyond the paper: SMM whose day view also gets the cheap gamma darkening
# (+ sensor noise) of baselines/streets_darken_gamma_noise.py with p 0.5, so
# stage 2 sees both D's adversarial curves and gamma's bright-sources-kept
# darkening (D then darkens that view further towards its exposure).
_base_ = ['../synthetic_streets_simmm.py']
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(type='mmsimmm.RandomDarken', mode='gamma', prob=0.5,
         brightness_range=(0.1, 1.0), gamma_range=(1.0, 5.0),
         noise_std_range=(0.0, 0.05)),
    _base_.train_pipeline[-1],  # PackSegInputs
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# measured on the default of its time: uniform E' (no pools of light)
model = dict(
    night_exposure=dict(
        type='mmsimmm.NightExposureSampler', patch_size=16,
        light_pools=None))
