# The default plus the street demo's sensor noise on D's output
# (Poisson-Gaussian, mmsimmm.LowLightSensorNoise) before the 8-bit rounding.
_base_ = ['../objects_simmm.py']
model = dict(dark_noise=dict(type='mmsimmm.LowLightSensorNoise'))
