# Beyond the paper, as the street demo's default: stage-2 exposure maps E'
# with up to 4 Gaussian pools of light per image. Stage 1 is the default one.
_base_ = ['../objects_simmm.py']
model = dict(
    night_exposure=dict(
        light_pools=dict(max_num=4, radius_range=(0.03, 0.12),
                         peak_range=(0.1, 0.5))))
