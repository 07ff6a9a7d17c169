# RefineNet-R101 (Lin et al., CVPR 2017): 4-cascaded multi-path RefineNet on a
# ResNet-101 (v1c) backbone *without* dilation; the head fuses the 4 stages
# (strides 4/8/16/32) and predicts at 1/4 resolution.
# As the reference's network: no auxiliary head, element-wise dropout 0.5 on
# the two deepest stages and before the classifier, cross-entropy averaged
# over non-void pixels. Options (docs/deviations.md): mmseg's FCN auxiliary
# head (`auxiliary_head=fcn_auxiliary_head` below), dropout 0.1,
# avg_non_ignore=False (mmseg's default).
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    # stage 1 (256x512) and stage 2 (384x768 crops) differ in size: pad each
    # batch to a multiple of the network's stride instead of one crop size
    size_divisor=32,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='mmsimmm.RefineNetHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        path_channels=(256, 256, 256, 512),
        channels=256,
        num_input_rcus=2,
        num_crp_blocks=4,
        num_output_rcus=1,
        num_final_rcus=2,
        block_norm_cfg=None,
        dropout_ratio=0.5,
        input_dropout_ratio=0.5,
        input_dropout_indices=(2, 3),
        elementwise_dropout=True,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    # model training and testing settings
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# Option: mmseg's FCN auxiliary head on stage 3 (not in the reference).
# In SMM's stage 2 its loss is doubled with the others (task_loss_scale=2).
fcn_auxiliary_head = dict(
    type='FCNHead',
    in_channels=1024,
    in_index=2,
    channels=256,
    num_convs=1,
    concat_input=False,
    dropout_ratio=0.1,
    num_classes=19,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(
        type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
