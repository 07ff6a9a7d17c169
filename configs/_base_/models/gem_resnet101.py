# The paper's Tokyo 24/7 network: ResNet-101 (ImageNet weights) + GeM
# (p = 3, trainable) + L2 normalisation, contrastive loss with margin 0.85,
# BatchNorm frozen in eval mode as cirtorch trains it; multi-scale test
# descriptors (1, 1/sqrt(2), 1/2). ResNet-50 or -18: change depth.
model = dict(
    type='mmsimmm.GeMRetriever',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=101,
        out_indices=(3, ),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')),
    neck=dict(type='mmpretrain.GeneralizedMeanPooling', p=3.0),
    loss=dict(type='mmsimmm.ContrastiveTupleLoss', margin=0.85),
    test_scales=(1.0, 2**-0.5, 0.5),
    multiscale_power='gem')
