# CPU demo, day-only baseline: a narrow ResNetV1c-18 + FCN head trained on the
# embedded synthetic street scenes (mmsimmm.datasets.synthetic_streets, made
# by tools/demo.py), evaluated on paired day and night validation scenes.
_base_ = ['mmseg::_base_/default_runtime.py']
data_root = 'work_dirs/demo/data/'
crop_size = (128, 256)
num_classes = 19
norm_cfg = dict(type='BN', requires_grad=True)
base_channels = 16
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        base_channels=base_channels,
        stem_channels=base_channels,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        contract_dilation=True),
    decode_head=dict(
        type='FPNHead',
        in_channels=[base_channels * 2**i for i in range(4)],
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=32,
        dropout_ratio=0.0,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='mmsimmm.CheckedLoadAnnotations'),
    dict(type='RandomResize', scale=(256, 128), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='mmsimmm.CheckedLoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
day_loader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
night_loader = dict(
    day_loader,
    dataset=dict(
        day_loader['dataset'],
        data_prefix=dict(
            img_path='night/leftImg8bit/val',
            seg_map_path='night/gtFine/val')))
val_dataloader = [day_loader, night_loader]
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU'], prefix='day'),
    dict(type='IoUMetric', iou_metrics=['mIoU'], prefix='night'),
]
test_evaluator = val_evaluator
val_cfg = dict(type='mmsimmm.MultiDatasetValLoop')
test_cfg = dict(type='mmsimmm.MultiDatasetTestLoop')

# day training: `pretrain_iters` give the F that SMM starts from; the
# baseline continues `adapt_iters` more day-only iterations, so both final
# models have seen the same number of task iterations.
pretrain_iters = 450
adapt_iters = 250
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0,
         end=pretrain_iters + adapt_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=pretrain_iters + adapt_iters,
    val_interval=pretrain_iters + adapt_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=pretrain_iters, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
# checkpoints that load with torch's weights_only=True; stop on NaN/Inf
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
randomness = dict(seed=0)
