# Adding SMM to a model you already train with mmseg: DeepLabV3+ R50 on
# Cityscapes. Everything below `_base_` is what SMM adds; the dataset,
# pipeline and model are the unchanged mmseg config.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'mmsimmm::_base_/safe_runtime.py',
]
load_from = 'checkpoints/deeplabv3plus_r50-d8_512x1024_80k_cityscapes.pth'

model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},  # your model, unmodified
    projector=dict(
        type='mmsimmm.BYOLProjector',
        in_channels=[256, 512, 1024, 2048],
        dense=True),
    predictor=dict(type='mmsimmm.BYOLPredictor', num_branches=4))
optim_wrapper = dict(
    _delete_=True,
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(
        optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4)))
param_scheduler = dict(
    _delete_=True,
    darkener=[dict(type='MultiStepLR', by_epoch=False, begin=0, end=10000,
                   milestones=[3000, 6000])],
    task=[dict(type='MultiStepLR', by_epoch=False, begin=10000, end=50000,
               milestones=[20000, 30000])])  # from begin
train_cfg = dict(
    _delete_=True,
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=10000,
    adapt_iters=40000,
    val_interval=5000)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)

# day / darkened pairs, requested exposure vs achieved brightness and the
# day-vs-dark feature similarity, through the Visualizer (vis_data/)
custom_hooks = _base_.custom_hooks + [
    dict(type='mmsimmm.DarkenVisualizationHook', interval=500, num_images=2)
]
