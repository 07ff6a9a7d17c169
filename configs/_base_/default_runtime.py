# Runtime shared by mmsimmm configs. Task configs set default_scope to their
# downstream library ('mmseg', 'mmpretrain', 'mmaction'); mmsimmm components
# are then referred to as 'mmsimmm.X'.
default_scope = 'mmsimmm'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# SMM derives its per-step randomness from (seed, iteration): a fixed seed
# makes --resume exact.
randomness = dict(seed=0)
