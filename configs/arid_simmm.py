# Similarity Min-Max on ARID with the paper's action settings: stage 1
# trains the darkener against the frozen day I3D (5000 iterations, one E per
# frame), stage 2 adapts the I3D on day clips and their darkened copies (one
# E' per clip, darkened online; 10 epochs, SGD Nesterov 1e-3). Reports
# night/acc/top1 and top5 on ARID split 1 (multi-clip test).
#   1. python tools/train.py configs/arid_i3d_baseline.py   (F on day)
#   2. python tools/train.py configs/arid_simmm.py \
#          --cfg-options num_train_videos=<lines of day/train.txt>
#   3. python tools/test.py configs/arid_simmm.py work_dirs/arid_simmm/<ckpt>
_base_ = [
    'mmaction::_base_/default_runtime.py',
    './_base_/models/arid_simmm_i3d.py',
    './_base_/datasets/arid_day_to_night.py',
    './_base_/schedules/arid_simmm.py',
]
# a plain mmaction2 checkpoint loads into model.task_model and re-syncs the
# EMA target; the darkener starts from scratch
load_from = 'work_dirs/arid_i3d_baseline/epoch_30.pth'
train_dataloader = dict(batch_size={{_base_.batch_size}})
# iteration-based loop: mmaction2's default checkpoint hook counts epochs
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval={{_base_.val_interval_iters}}, max_keep_ckpts=3,
                    save_best=None))
log_processor = dict(by_epoch=False)
# D and F are wrapped separately for DDP (two optimisers, one frozen at a time)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
randomness = dict(seed=0)
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook'),
    # day / darkened pairs, requested exposure vs achieved brightness,
    # day-vs-dark feature similarity, through the Visualizer
    dict(type='mmsimmm.DarkenVisualizationHook', interval=500, num_images=2)
]
