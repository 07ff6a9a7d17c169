# The paper's segmentation schedule in iterations (Cityscapes train: 2975
# images, batch 4 -> 744 iterations per epoch).
# Stage 1 (darken): 15 epochs, Adam 1e-4, wd 1e-4, clip 0.1, x0.1 at 5, 10.
# Stage 2 (adapt): 100 epochs, SGD 1e-3, momentum 0.9, wd 1e-4, x0.1 / 30.
iters_per_epoch = 744
darken_iters = 15 * iters_per_epoch
adapt_iters = 100 * iters_per_epoch

optim_wrapper = dict(
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=1e-3, momentum=0.9,
                       weight_decay=1e-4)))
param_scheduler = dict(
    darkener=[
        dict(
            type='MultiStepLR',
            by_epoch=False,
            begin=0,
            end=darken_iters,
            milestones=[5 * iters_per_epoch, 10 * iters_per_epoch],
            gamma=0.1)
    ],
    task=[
        dict(
            type='MultiStepLR',
            by_epoch=False,
            begin=darken_iters,
            end=darken_iters + adapt_iters,
            # counted from `begin` (mmengine schedulers step only in range)
            milestones=[e * iters_per_epoch for e in (30, 60, 90)],
            gamma=0.1)
    ])
train_cfg = dict(
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=darken_iters,
    adapt_iters=adapt_iters,
    schedule='sequential',
    val_interval=10 * iters_per_epoch)
