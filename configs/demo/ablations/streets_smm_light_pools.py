# Beyond the paper: stage-2 exposure maps E' with up to 4 Gaussian pools of
# light per image (night is lit in places by lamps, headlights, windows; a
# uniform E' never asks D for that). Stage 1 is the default one.
_base_ = ['../synthetic_streets_simmm.py']
model = dict(
    night_exposure=dict(
        type='mmsimmm.NightExposureSampler', patch_size=16,
        light_pools=dict(max_num=4, radius_range=(0.03, 0.12),
                         peak_range=(0.1, 0.5))))
