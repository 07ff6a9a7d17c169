# Similarity Min-Max on RefineNet-R101 (the paper's segmentation setting):
# train on Cityscapes day, evaluate zero-shot on Dark Zurich val and Nighttime
# Driving test in one run.
#   1. python tools/train.py configs/darkzurich_day_baseline.py   (F on day)
#   2. python tools/train.py configs/darkzurich_simmm.py          (stage 1 + 2)
_base_ = [
    'mmseg::_base_/default_runtime.py',
    './_base_/safe_runtime.py',
    './_base_/models/refinenet_r101.py',
    './_base_/datasets/cityscapes_day_to_night_512x1024.py',
    './_base_/schedules/smm_seg_cityscapes.py',
]
# Stage 1 needs the day-trained F; a plain mmseg checkpoint loads into
# model.task_model and re-syncs the EMA target.
load_from = 'work_dirs/darkzurich_day_baseline/iter_80000.pth'

backbone_channels = [256, 512, 1024, 2048]
model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},
    darkener=dict(type='mmsimmm.CurveDarkener'),
    task_adapter=dict(type='MMSegTaskAdapter'),
    # one dense projector / predictor per backbone stage, losses averaged
    projector=dict(
        type='mmsimmm.BYOLProjector', in_channels=backbone_channels,
        dense=True),
    predictor=dict(type='mmsimmm.BYOLPredictor', num_branches=4),
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss', loss_weight=0.1),
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(type='mmsimmm.ExposureLoss', loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=1.0)),
    darken_exposure_range=(0.0, 0.5),
    night_exposure=dict(type='mmsimmm.NightExposureSampler', patch_size=64),
    byol_loss=dict(type='mmsimmm.BYOLLoss', loss_weight=0.1),
    ema_momentum=0.01)
# Stage 2: two views per image, shared geometry, independent photometry
# (view 1 is darkened); stage 1: whole day images at 256x512, no
# augmentation. Validation runs from the start of stage 2 on.
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.smm_train_pipeline}}))
train_cfg = dict(darken_dataloader={{_base_.darken_dataloader}})
# D and F are wrapped separately for DDP (two optimisers, one frozen at a time)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=7440,
        max_keep_ckpts=3),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)

# day / darkened pairs, requested exposure vs achieved brightness and the
# day-vs-dark feature similarity, through the Visualizer (vis_data/)
custom_hooks = _base_.custom_hooks + [
    dict(type='mmsimmm.DarkenVisualizationHook', interval=500, num_images=2)
]
