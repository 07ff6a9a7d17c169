# The former classification default: sensor noise on D's output, a uniform E'
# (no pools of light).
_base_ = ['../objects_simmm.py']
model = dict(
    dark_noise=dict(type='mmsimmm.LowLightSensorNoise'),
    night_exposure=dict(light_pools=None))
