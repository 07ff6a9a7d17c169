# SMM around the ARID I3D, with the paper's action settings (METHOD.md).
# This file is the one place the action defaults live; the ARID configs
# (and the video demo) inherit it.
_base_ = ['./arid_i3d.py']
model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},
    # the adapter follows the task model's library (MMActionTaskAdapter):
    # L_D^sim and BYOL on the pooled clip feature (I3DHead's average pool)
    darkener=dict(type='mmsimmm.CurveDarkener'),
    # stage 1: one E ~ U(0, 0.5) per frame; flexibility weight 1 for action
    darken_exposure_range=(0.0, 0.5),
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss',
                        loss_weight=0.1),
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(type='mmsimmm.ExposureLoss', patch_size=1,
                      loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=1.0)),
    # stage 2: one E' map per clip (U(0, 0.2) + pixel and patch noise,
    # 16-pixel patches), shared by the clip's frames
    night_exposure=dict(type='mmsimmm.NightExposureSampler',
                        exposure_range=(0.0, 0.2), patch_size=16),
    quantize_dark=True,
    # pooled BYOL: 2048 -> 64 -> 64 projector, 64 -> 64 -> 64 predictor,
    # total weight 0.1 summed over both directions
    projector=dict(type='mmsimmm.BYOLProjector', in_channels=2048,
                   hidden_channels=64, out_channels=64),
    predictor=dict(type='mmsimmm.BYOLPredictor', in_channels=64,
                   hidden_channels=64, out_channels=64),
    byol_loss=dict(type='mmsimmm.BYOLLoss', loss_weight=0.05),
    ema_momentum=0.01)
