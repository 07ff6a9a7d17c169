# The package default without the sensor noise on D's output (isolates it).
_base_ = ['../synthetic_streets_simmm.py']
model = dict(dark_noise=None)
