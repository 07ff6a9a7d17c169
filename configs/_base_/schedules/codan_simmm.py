# The paper's classification schedule for SMM, in iterations (the two stages
# run in one iteration-based loop with two optimisers).
# Stage 1 (darken): 15 epochs, Adam 1e-4, wd 1e-4, clip 0.1, x0.1 at 5, 10.
# Stage 2 (adapt): 90 epochs, Adam 1e-3, wd 1e-5, x0.1 at 30, 60, batch 32.
# For another dataset: set num_train_images and batch_size; the stage
# lengths stay in epochs.
num_train_images = 10000  # CODaN train
batch_size = 32
iters_per_epoch = (num_train_images + batch_size - 1) // batch_size  # 313
darken_epochs, adapt_epochs = 15, 90
darken_iters = darken_epochs * iters_per_epoch
adapt_iters = adapt_epochs * iters_per_epoch

optim_wrapper = dict(
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5)))
param_scheduler = dict(
    darkener=[
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=darken_iters,
             milestones=[5 * iters_per_epoch, 10 * iters_per_epoch],
             gamma=0.1)
    ],
    task=[
        dict(type='MultiStepLR', by_epoch=False, begin=darken_iters,
             end=darken_iters + adapt_iters,
             # counted from `begin` (mmengine schedulers step only in range)
             milestones=[30 * iters_per_epoch, 60 * iters_per_epoch],
             gamma=0.1)
    ])
train_cfg = dict(
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=darken_iters,
    adapt_iters=adapt_iters,
    schedule='sequential',
    val_interval=5 * iters_per_epoch)
val_interval_iters = 5 * iters_per_epoch
