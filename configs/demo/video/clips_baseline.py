# CPU demo, action recognition, day-only baseline: mmaction2's I3D
# (Recognizer3D + ResNet3d + I3DHead, as configs/_base_/models/arid_i3d.py)
# at toy size, trained on the embedded synthetic day clips (configs/_base_/datasets/synthetic_clips.py),
# evaluated on test_day and test_night.
_base_ = [
    'mmaction::_base_/default_runtime.py',
    '../../_base_/models/arid_i3d.py',
    '../../_base_/datasets/synthetic_clips.py',
]
# ResNet3d-18 with 16 base channels (128 at the last stage), no pretrained
# weights, no temporal down-sampling of the 8-frame clips, so that both
# trainings fit the demo's 10 minutes on 2 CPU cores
model = dict(
    backbone=dict(depth=18, base_channels=16, pretrained=None,
                  pretrained2d=False, conv1_kernel=(3, 7, 7),
                  conv1_stride_t=1, pool1_stride_t=1,
                  inflate=((1, 1), (1, 0), (1, 0), (0, 1))),
    cls_head=dict(num_classes=6, in_channels=128, dropout_ratio=0.2))
# day training: `pretrain_iters` give the F that SMM starts from; the
# baseline continues `adapt_iters` more day-only iterations, so both final
# models have seen the same number of task iterations.
pretrain_iters = 400
adapt_iters = 150
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, nesterov=True,
                   weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-4, begin=0,
         end=pretrain_iters + adapt_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=pretrain_iters + adapt_iters,
    val_interval=pretrain_iters + adapt_iters)
val_dataloader = val_evaluator = val_cfg = None
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=pretrain_iters, max_keep_ckpts=2,
                    save_best=None))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
