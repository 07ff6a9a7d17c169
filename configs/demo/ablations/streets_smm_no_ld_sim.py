# Ablation: stage 1 without L_D^sim (D trained by the realism losses only):
# the default terms of SimMinMax with `similarity` left out.
_base_ = ['../synthetic_streets_simmm.py']
model = dict(
    darken_losses=dict(
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(
            type='mmsimmm.ExposureLoss', patch_size=1, loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=1.0)))
