# Similarity Min-Max for day-night place recognition (Tokyo 24/7), with the
# paper's settings (METHOD.md, VPR rows; the reference's train_night command):
# stage 1 trains the darkener against layer4 of the frozen day GeM network
# (5000 iterations, Adam 1e-4, wd 1e-4, clip 0.1, x0.1 at 1000 and 3000,
# flexibility weight 5); stage 2 fine-tunes the network on SfM-120k tuples
# in which the darkened query D(q, E') is one more positive of its tuple
# (contrastive loss, margin 0.85, no BYOL), Adam 5e-7, 5 rounds of 22000
# tuples (batch 5, pool 2000, 362-pixel images), E' with 32-pixel patches,
# the dark view not rounded to 8 bits (as the reference's VPR script).
#   1. python tools/train.py configs/tokyo247_gem_baseline.py   (day F)
#   2. python tools/train.py configs/tokyo247_simmm.py          (stage 1 + 2)
#   3. python tools/test.py configs/tokyo247_simmm.py \
#          work_dirs/tokyo247_simmm/iter_27000.pth    (all/day/night mAP)
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/models/gem_resnet101.py',
    './_base_/datasets/sfm120k_tokyo247.py',
    './_base_/safe_runtime.py',
]
load_from = 'work_dirs/tokyo247_gem_baseline/iter_40000.pth'
# the reference's stage-2 command: --query-size=22000 --pool-size=2000
query_size = 22000
pool_size = 2000
train_dataloader = dict(
    dataset=dict(query_size=query_size, pool_size=pool_size))
model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},
    # MMRetrievalTaskAdapter is picked for GeMRetriever: L_D^sim on
    # backbone.layer4, the darkened query as an extra positive
    darkener=dict(type='mmsimmm.CurveDarkener'),
    darken_exposure_range=(0.0, 0.5),
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss',
                        loss_weight=0.1),
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(type='mmsimmm.ExposureLoss', patch_size=1,
                      loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=5.0)),
    night_exposure=dict(type='mmsimmm.NightExposureSampler',
                        exposure_range=(0.0, 0.2), patch_size=32),
    # the reference's train_night feeds D's output as it is (no 8-bit
    # rounding, unlike its other tasks)
    quantize_dark=False,
    projector=None,
    predictor=None,
    # the contrastive loss is a sum over the tuples' pairs (cirtorch)
    task_loss_scale=1.0)
# stage 1: plain SfM-120k training images, square 362-pixel crops (one
# size per batch: no padding for D and L_D^sim)
darken_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='mmsimmm.SfM120kImageDataset',
        data_root={{_base_.data_root}},
        ann_file={{_base_.sfm_ann_file}},
        data_prefix=dict(img_path={{_base_.sfm_images}}),
        pipeline=[
            dict(type='mmpretrain.LoadImageFromFile'),
            dict(type='mmpretrain.ResizeEdge', scale=362, edge='short',
                 backend='pillow', interpolation='lanczos'),
            dict(type='mmpretrain.RandomCrop', crop_size=362),
            dict(type='mmpretrain.PackInputs'),
        ]))
darken_iters = 5000
adapt_rounds = 5
iters_per_round = query_size // 5  # tuples per round / tuples per batch
adapt_iters = adapt_rounds * iters_per_round
optim_wrapper = dict(
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=5e-7, weight_decay=1e-6),
        paramwise_cfg=dict(custom_keys={'neck.p': dict(lr_mult=10,
                                                       decay_mult=0)})))
param_scheduler = dict(
    darkener=[
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=darken_iters,
             milestones=[1000, 3000], gamma=0.1)
    ],
    # the reference's train_night keeps the lr constant
    task=[
        dict(type='ConstantLR', by_epoch=False, factor=1.0,
             begin=darken_iters, end=darken_iters + adapt_iters)
    ])
train_cfg = dict(
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=darken_iters,
    adapt_iters=adapt_iters,
    schedule='sequential',
    darken_dataloader=darken_dataloader,
    val_interval=darken_iters + adapt_iters + 1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=darken_iters, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
randomness = dict(seed=0)
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook'),
    # negatives mined with the day model before stage 2 (stage 1 does not
    # change it) and again after every round of stage-2 steps
    dict(type='mmsimmm.TupleMiningHook', interval=iters_per_round),
]
