# Train on Cityscapes (day) at 512x1024, crops 384x768; evaluate zero-shot on
# Dark Zurich val and Nighttime Driving test (19 classes, 512x1024), both in
# one run (mmsimmm.MultiDatasetValLoop, metrics prefixed by dataset).
cityscapes_root = 'data/cityscapes/'
dark_zurich_root = 'data/dark_zurich/'
night_driving_root = 'data/NighttimeDrivingTest/'
scale = (1024, 512)
crop_size = (384, 768)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root=cityscapes_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))


dark_zurich_val = dict(
    type='DarkZurichDataset',
    data_root=dark_zurich_root,
    data_prefix=dict(
        img_path='rgb_anon/val/night', seg_map_path='gt/val/night'),
    pipeline=test_pipeline)
night_driving_test = dict(
    type='NightDrivingDataset',
    data_root=night_driving_root,
    data_prefix=dict(
        img_path='leftImg8bit/test/night',
        seg_map_path='gtCoarse_daytime_trainvaltest/test/night'),
    pipeline=test_pipeline)
dark_zurich_loader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dark_zurich_val)
night_driving_loader = dict(dark_zurich_loader, dataset=night_driving_test)
dark_zurich_metric = dict(
    type='IoUMetric', iou_metrics=['mIoU'], prefix='dark_zurich')
night_driving_metric = dict(
    type='IoUMetric', iou_metrics=['mIoU'], prefix='night_driving')
val_dataloader = [dark_zurich_loader, night_driving_loader]
test_dataloader = val_dataloader
val_evaluator = [dark_zurich_metric, night_driving_metric]
test_evaluator = val_evaluator
val_cfg = dict(type='mmsimmm.MultiDatasetValLoop')
test_cfg = dict(type='mmsimmm.MultiDatasetTestLoop')
