# Ablation: stage 1 without L_D^sim (D trained by the realism losses only):
# the classification terms of SimMinMax
# (configs/_base_/models/codan_simmm_resnet18.py) with `similarity` left out.
_base_ = ['../objects_simmm.py']
model = dict(
    darken_losses=dict(
        _delete_=True,
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(
            type='mmsimmm.ExposureLoss', patch_size=1, loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=5.0)))
