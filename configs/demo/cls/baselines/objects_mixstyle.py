# Baseline row "MixStyle" (domain generalisation, Zhou et al. ICLR 2021): the
# ERM control (objects_erm.py: same day checkpoint, optimiser and iterations)
# with MixStyle (p 0.5, Beta(0.1, 0.1)) after backbone stages layer1 and
# layer2, active in training only. mmsimmm.MixStyleBackbone returns the
# mmpretrain ResNet itself with stateless MixStyle layers hooked in, so the
# day checkpoint loads unchanged and the trained model exports as a plain one.
_base_ = ['./objects_erm.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmsimmm.MixStyleBackbone',
        backbone={{_base_.model.backbone}},
        after_stages=('layer1', 'layer2'),
        p=0.5,
        alpha=0.1))
