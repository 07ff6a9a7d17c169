# Ablation: the default without the pools of light in E' (uniform E' as in
# the paper, sensor noise kept): the mmsimmm default before the pools.
_base_ = ['../synthetic_streets_simmm.py']
model = dict(
    night_exposure=dict(
        type='mmsimmm.NightExposureSampler', patch_size=16,
        light_pools=None))
