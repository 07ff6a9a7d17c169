# Baseline row "gamma darkening + sensor noise": the ERM control
# (objects_erm.py: same day checkpoint, optimiser and iterations) with
# x ** g * b + N(0, sigma), g ~ U(1, 5), b ~ U(0.1, 1), sigma ~ U(0, 0.05)
# (in [0, 1] units) applied to the day training crops with probability 0.5
# (mmsimmm.RandomDarken), after the crop, flip and colour jitter and just
# before packing; labels are untouched.
_base_ = ['./objects_erm.py']
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(type='mmsimmm.RandomDarken', mode='gamma', prob=0.5,
         brightness_range=(0.1, 1.0), gamma_range=(1.0, 5.0),
         noise_std_range=(0.0, 0.05)),
    _base_.train_pipeline[-1],  # PackInputs
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
