# The paper setting (no sensor noise on D's output) with the pools of light in
# E' (beyond the paper): which of the two extras helps on this set.
_base_ = ['./objects_smm_paper.py']
model = dict(
    night_exposure=dict(
        light_pools=dict(max_num=4, radius_range=(0.03, 0.12),
                         peak_range=(0.1, 0.5))))
