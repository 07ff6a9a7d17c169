# Baseline row "CIConv" (Lengyel et al. ICCV 2021): a W colour-invariant
# first layer (learnable scale) in front of the demo's quarter-width
# ResNet-18, whose stem takes the 1-channel invariant. The first layer
# changes, so this row is NOT fine-tuned from the RGB day checkpoint: it is
# its own day run from random init with the day baseline's schedule
# (../objects_baseline.py: pretrain_iters + adapt_iters iterations, Adam 1e-3,
# cosine), i.e. as many iterations as the day-only baseline has in total.
# CIConv needs RGB with black at 0, not mean-subtracted input: the data
# preprocessor only scales to [0, 1] (and still turns BGR into RGB).
_base_ = ['../objects_baseline.py']
data_preprocessor = dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0])
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmsimmm.CIConvBackbone',
        ciconv=dict(scale=0.0),
        backbone={{_base_.model.backbone}}))
