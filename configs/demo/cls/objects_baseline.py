# CPU demo, classification, day-only baseline: mmpretrain's ResNet-18
# ImageClassifier trained on the embedded synthetic day/night objects
# (64x64, 10 shapes, CODaN layout, made by `tools/demo.py --task cls`),
# evaluated on test_day and test_night. Model, augmentation and optimiser are
# CODaN's (configs/_base_/*/codan*), on an iteration schedule sized for 2 CPU
# cores.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/models/codan_resnet18.py',
    '../../_base_/datasets/codan_synthetic_objects_64x64.py',
]
# ResNet-18 at a quarter of its width (16 base channels, 128 at layer4) so
# that both trainings fit the demo's 10 minutes on 2 CPU cores
model = dict(backbone=dict(base_channels=16), head=dict(in_channels=128))
# day training: `pretrain_iters` give the F that SMM starts from; the
# baseline continues `adapt_iters` more day-only iterations, so both final
# models have seen the same number of task iterations.
pretrain_iters = 1500
adapt_iters = 400
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-5, begin=0,
         end=pretrain_iters + adapt_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=pretrain_iters + adapt_iters,
    val_interval=pretrain_iters + adapt_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=pretrain_iters, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
# checkpoints that load with torch.load(weights_only=True) (--resume, and
# load_from of the next stage): the message hub stored as plain data; stop
# at the first non-finite loss
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
