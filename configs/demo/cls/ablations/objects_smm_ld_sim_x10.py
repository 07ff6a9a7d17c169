# Ablation: a 10x stronger L_D^sim (1.0 instead of the paper's 0.1), so D is
# more adversarial to F against the realism losses (issue 14, lead 0).
_base_ = ['../objects_simmm.py']
model = dict(
    darken_losses=dict(
        similarity=dict(type='mmsimmm.FeatureSimilarityLoss',
                        loss_weight=1.0)))
