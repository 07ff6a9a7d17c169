# Day-only baseline: RefineNet-R101 trained on Cityscapes day (512x1024,
# crops 384x768), evaluated zero-shot at night. Its checkpoint is also the F
# that SMM's stage 1 starts from (configs/darkzurich_simmm.py).
_base_ = [
    'mmseg::_base_/default_runtime.py',
    './_base_/safe_runtime.py',
    './_base_/models/refinenet_r101.py',
    './_base_/datasets/cityscapes_day_to_night_512x1024.py',
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000,
                    max_keep_ckpts=3),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
