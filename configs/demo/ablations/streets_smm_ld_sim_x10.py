# Ablation: a 10x stronger L_D^sim (1.0 instead of the paper's 0.1), so D is
# more adversarial to F against the realism losses (issue 14, lead 0).
_base_ = ['../synthetic_streets_simmm.py']
model = dict(
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss', loss_weight=1.0),
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(
            type='mmsimmm.ExposureLoss', patch_size=1, loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=1.0)))
