# SMM on CODaN with the GAN-like alternating schedule (the paper's 63.84
# top-1 row): one darkener step per adaptation step until stage 1's budget
# (15 epochs of steps) is spent, then adaptation alone. The schedulers keep
# the sequential run's milestones in steps of each network.
_base_ = ['./codan_simmm.py']
iters_per_epoch = _base_.iters_per_epoch
darken_iters = _base_.darken_iters
adapt_iters = _base_.adapt_iters
train_cfg = dict(schedule='alternating', darken_steps_per_adapt=1)
# every iteration steps the schedulers; while both networks alternate each
# gets every second iteration, so D's milestones are at twice the sequential
# positions and F's (counted from 0 now) are shifted by D's steps
param_scheduler = dict(
    _delete_=True,
    darkener=[
        dict(type='MultiStepLR', by_epoch=False, begin=0,
             end=2 * darken_iters,
             milestones=[10 * iters_per_epoch, 20 * iters_per_epoch],
             gamma=0.1)
    ],
    task=[
        dict(type='MultiStepLR', by_epoch=False, begin=0,
             end=darken_iters + adapt_iters,
             milestones=[darken_iters + 30 * iters_per_epoch,
                         darken_iters + 60 * iters_per_epoch],
             gamma=0.1)
    ])
