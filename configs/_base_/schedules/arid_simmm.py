# The paper's action schedule for SMM, in iterations (the two stages run in
# one iteration-based loop with two optimisers).
# Stage 1 (darken): 5000 iterations, Adam 1e-4, wd 1e-4, clip 0.1, x0.1 at
# 1000 and 3000.
# Stage 2 (adapt): 10 epochs, SGD Nesterov (momentum 0.9), lr 1e-3 for the
# total batch (8 clips: one GPU x 8, or scale lr with the batch).
# For your day set: set num_train_videos to the number of lines of
# day/train.txt (--cfg-options num_train_videos=N re-derives the lengths).
num_train_videos = 1000
batch_size = 8
iters_per_epoch = (num_train_videos + batch_size - 1) // batch_size
darken_iters = 5000
adapt_epochs = 10
adapt_iters = adapt_epochs * iters_per_epoch

optim_wrapper = dict(
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, nesterov=True,
                       weight_decay=1e-4)))
param_scheduler = dict(
    darkener=[
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=darken_iters,
             milestones=[1000, 3000], gamma=0.1)
    ],
    task=[
        dict(type='ConstantLR', by_epoch=False, factor=1.0,
             begin=darken_iters, end=darken_iters + adapt_iters)
    ])
train_cfg = dict(
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=darken_iters,
    adapt_iters=adapt_iters,
    schedule='sequential',
    val_interval=iters_per_epoch)
val_interval_iters = iters_per_epoch
auto_scale_lr = dict(enable=False, base_batch_size=8)
