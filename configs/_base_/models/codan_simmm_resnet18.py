# SMM around the CODaN classifier, with the paper's classification settings
# (METHOD.md). This file is the one place the classification defaults live:
# the CODaN configs, the embedded demo (configs/demo/cls) and the benchmarks
# inherit it.
_base_ = ['./codan_resnet18.py']
model = dict(
    _delete_=True,
    type='mmsimmm.SimMinMax',
    task_model={{_base_.model}},
    # the adapter follows the task model's library (MMPretrainTaskAdapter):
    # L_D^sim on ResNet-18 layer4, BYOL on the pooled neck feature
    task_adapter=dict(darken_taps=('backbone.layer4', )),
    darkener=dict(type='mmsimmm.CurveDarkener'),
    # stage 1: E ~ U(0, 0.5); flexibility weight 5 for classification
    darken_exposure_range=(0.0, 0.5),
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss',
                        loss_weight=0.1),
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(type='mmsimmm.ExposureLoss', patch_size=1,
                      loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=5.0)),
    # stage 2: E' = U(0, 0.2) + pixel and patch noise, 16-pixel patches
    night_exposure=dict(type='mmsimmm.NightExposureSampler',
                        exposure_range=(0.0, 0.2), patch_size=16),
    # the darkened view is rounded to 8 bits, as the reference does
    quantize_dark=True,
    # pooled BYOL: 512 -> 128 -> 128 projector, 128 -> 128 -> 128 predictor;
    # total weight 0.1, x0.5 per direction (summed over both directions)
    projector=dict(type='mmsimmm.BYOLProjector', in_channels=512,
                   hidden_channels=128, out_channels=128),
    predictor=dict(type='mmsimmm.BYOLPredictor', in_channels=128,
                   hidden_channels=128, out_channels=128),
    byol_loss=dict(type='mmsimmm.BYOLLoss', loss_weight=0.05),
    ema_momentum=0.01)
