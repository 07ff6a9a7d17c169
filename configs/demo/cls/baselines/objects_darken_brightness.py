# Baseline row "brightness darkening": the ERM control (objects_erm.py: same
# day checkpoint, optimiser and iterations) with x * U(0.1, 1) applied to the
# day training crops with probability 0.5 (mmsimmm.RandomDarken), after the
# crop, flip and colour jitter and just before packing; labels are untouched.
_base_ = ['./objects_erm.py']
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(type='mmsimmm.RandomDarken', mode='brightness', prob=0.5,
         brightness_range=(0.1, 1.0)),
    _base_.train_pipeline[-1],  # PackInputs
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
