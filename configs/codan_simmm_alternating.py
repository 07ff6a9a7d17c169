# SMM on CODaN with the GAN-like alternating schedule (the paper's 63.84
# top-1 row, against 65.87 sequential): one darkener step before each
# adaptation step while stage 1's budget (15 epochs of steps) lasts, then
# adaptation alone. The schedules stay those of the sequential config: under
# `alternating` the loop steps each network's schedulers on its own steps
# only (mmsimmm.PhaseParamSchedulerHook).
_base_ = ['./codan_simmm.py']
train_cfg = dict(schedule='alternating', darken_steps_per_adapt=1)
