# CPU demo, SMM: the baseline's F after `pretrain_iters` day iterations
# (load_from, set by tools/demo.py), then stage 1 (darkener) and stage 2
# (adapt F with day + darkened views) on the same synthetic day data.
_base_ = ['./synthetic_streets_baseline.py']
load_from = 'work_dirs/demo/baseline/iter_450.pth'
# stage 1 long enough for D to follow its exposure input (at 150 iterations D
# asked for 0.02 still gave mean brightness 0.18 and stage-2 views twice as
# bright as the night scenes; at 600, 0.05): darken.exposure_error < 0.05
darken_iters = 600
adapt_iters = 250
model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},
    darkener=dict(type='mmsimmm.CurveDarkener'),
    projector=dict(
        type='mmsimmm.BYOLProjector',
        in_channels=[16, 32, 64, 128],
        dense=True),
    predictor=dict(type='mmsimmm.BYOLPredictor', num_branches=4),
    # patch grid scaled with the image: H/64 at 512 rows ~ 16 px at 128;
    # beyond the paper: pools of light in E' (night is lit in places, a
    # uniform E' never asks D for it): +0.6 night mIoU, 3 seeds
    night_exposure=dict(
        type='mmsimmm.NightExposureSampler', patch_size=16,
        light_pools=dict(max_num=4, radius_range=(0.03, 0.12),
                         peak_range=(0.1, 0.5))),
    # beyond the paper: sensor noise on D's output (a curve cannot make
    # it), then 8-bit quantisation as the reference does
    dark_noise=dict(type='mmsimmm.LowLightSensorNoise'),
    quantize_dark=True)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmsimmm.SimMinMaxOptimWrapperConstructor',
    darkener=dict(
        optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4),
        clip_grad=dict(max_norm=0.1)),
    task=dict(optimizer=dict(type='AdamW', lr=5e-4, weight_decay=1e-4)))
param_scheduler = dict(
    _delete_=True,
    darkener=[],
    task=[
        dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=darken_iters,
             end=darken_iters + adapt_iters, by_epoch=False)
    ])
train_cfg = dict(
    _delete_=True,
    type='mmsimmm.TwoPhaseTrainLoop',
    darken_iters=darken_iters,
    adapt_iters=adapt_iters,
    val_interval=darken_iters + adapt_iters)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=darken_iters + adapt_iters, max_keep_ckpts=1))

# day / darkened pairs, requested exposure vs achieved brightness and the
# day-vs-dark feature similarity, through the Visualizer (vis_data/)
custom_hooks = _base_.custom_hooks + [
    dict(type='mmsimmm.DarkenVisualizationHook', interval=50, num_images=2)
]
