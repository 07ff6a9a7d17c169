# Day-only training on CODaN, mmpretrain-style by epoch: Adam 1e-3, wd 1e-5,
# 90 epochs, x0.1 at 30 and 60, batch 32 (the paper's classification
# optimiser, also used for its day-only baseline).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=5)
