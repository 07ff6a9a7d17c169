# Beyond the paper: the exposure loss on 16x16 patch means (Zero-DCE's
# setting) instead of per pixel, so D may keep the scene's own contrast
# inside a patch (lit and unlit parts) rather than pull every pixel to E.
_base_ = ['../synthetic_streets_simmm.py']
model = dict(
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss', loss_weight=0.1),
        tv=dict(type='mmsimmm.LooseTVLoss', margin=0.02, loss_weight=1600.0),
        color=dict(type='mmsimmm.ColorConsistencyLoss', loss_weight=25.0),
        exposure=dict(
            type='mmsimmm.ExposureLoss', patch_size=16, loss_weight=10.0),
        flexibility=dict(type='mmsimmm.FlexibilityLoss', loss_weight=1.0)))
