# Day-only GeM baseline for Tokyo 24/7: ResNet-101 GeM fine-tuned on
# retrieval-SfM-120k tuples with cirtorch's published recipe (contrastive
# margin 0.85, Adam 5e-7, wd 1e-6, GeM p at 10x lr without decay, 5 hard
# negatives from a pool of 22000 re-mined every 2000 tuples, batch 5 tuples,
# 362-pixel images, lr x exp(-0.01) per round, 100 rounds). The paper's
# day-only number (85.0 mAP) is cirtorch's released network of this recipe.
#   python tools/train.py configs/tokyo247_gem_baseline.py
#   python tools/test.py configs/tokyo247_gem_baseline.py \
#       work_dirs/tokyo247_gem_baseline/iter_40000.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/models/gem_resnet101.py',
    './_base_/datasets/sfm120k_tokyo247.py',
    './_base_/safe_runtime.py',
]
rounds = 100
iters_per_round = 2000 // 5  # query_size // tuples_per_batch
max_iters = rounds * iters_per_round
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=5e-7, weight_decay=1e-6),
    paramwise_cfg=dict(custom_keys={'neck.p': dict(lr_mult=10,
                                                   decay_mult=0)}))
# cirtorch decays the lr by exp(-0.01) after every round of tuples
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[iters_per_round * r for r in range(1, rounds)],
         gamma=0.9900498337491681)
]
train_cfg = dict(type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters + 1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=iters_per_round * 10, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook'),
    dict(type='mmsimmm.TupleMiningHook', interval=iters_per_round),
]
