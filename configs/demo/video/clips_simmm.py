# CPU demo, action recognition, SMM: the baseline's F after `pretrain_iters`
# day iterations (load_from, set by `tools/demo.py --task video`), then
# stage 1 (darkener, one E per frame) and stage 2 (day clip + darkened clip,
# one E' per clip) with the paper's action settings
# (configs/_base_/models/arid_simmm_i3d.py), on the demo's iteration budget.
_base_ = [
    'mmaction::_base_/default_runtime.py',
    '../../_base_/models/arid_simmm_i3d.py',
    '../../_base_/datasets/synthetic_clips.py',
]
# the baseline's toy I3D (see clips_baseline.py)
model = dict(
    task_model=dict(
        backbone=dict(depth=18, base_channels=16, pretrained=None,
                      pretrained2d=False, conv1_kernel=(3, 7, 7),
                      conv1_stride_t=1, pool1_stride_t=1,
                      inflate=((1, 1), (1, 0), (1, 0), (0, 1))),
        cls_head=dict(num_classes=6, in_channels=128, dropout_ratio=0.2)),
    projector=dict(in_channels=128),
    # beyond the paper, as the other demos: sensor noise on D's output (a
    # curve cannot make it), before the 8-bit quantisation
    dark_noise=dict(type='mmsimmm.LowLightSensorNoise'))
load_from = 'work_dirs/demo_video/baseline/iter_400.pth'
darken_iters = 100
adapt_iters = 150
optim_wrapper = dict(
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(optimizer=dict(type='SGD', lr=1e-2, momentum=0.9,
                             nesterov=True, weight_decay=1e-4)))
param_scheduler = dict(
    darkener=[],
    task=[
        dict(type='CosineAnnealingLR', eta_min=1e-4, begin=darken_iters,
             end=darken_iters + adapt_iters, by_epoch=False)
    ])
train_cfg = dict(
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=darken_iters,
    adapt_iters=adapt_iters,
    val_interval=darken_iters + adapt_iters)
val_dataloader = val_evaluator = val_cfg = None
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=darken_iters + adapt_iters, max_keep_ckpts=1,
                    save_best=None))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook'),
    # day / darkened pairs, requested exposure vs achieved brightness,
    # day-vs-dark feature similarity, through the Visualizer
    dict(type='mmsimmm.DarkenVisualizationHook', interval=50, num_images=2)
]
