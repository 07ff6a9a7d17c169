# The paper's GAN-like schedule: one darkener step per adaptation step
# (the demo's darken_iters are spent interleaved with the adapt steps).
_base_ = ['../objects_simmm.py']
train_cfg = dict(schedule='alternating', darken_steps_per_adapt=1)
