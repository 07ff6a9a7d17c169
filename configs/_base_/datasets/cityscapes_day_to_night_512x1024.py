# Train on Cityscapes (day) at 512x1024, crops 384x768; evaluate zero-shot on
# Dark Zurich val and Nighttime Driving test (19 classes), both in one run
# (mmsimmm.MultiDatasetValLoop, metrics prefixed by dataset).
#
# Pipelines (SMM's and the test protocol as the reference's segmentation
# scripts, docs/deviations.md):
#   train_pipeline       day-only baseline (mmseg style: resize, crop, flip)
#   smm_train_pipeline   SMM stage 2: resize, zoom 0.7-1.3, crop, flip shared
#                        by two views, then per-view blur, shared cutout,
#                        per-view colour jitter
#   darken_pipeline      SMM stage 1: whole images at 256x512, no augmentation
#   test_pipeline        stretch to 512x1024 and score there (labels nearest)
#   mmseg_test_pipeline  option: mmseg's protocol (keep the ratio, 910x512,
#                        score at the file's 1920x1080)
cityscapes_root = 'data/cityscapes/'
dark_zurich_root = 'data/dark_zurich/'
night_driving_root = 'data/NighttimeDrivingTest/'
scale = (1024, 512)  # (w, h)
crop_size = (384, 768)  # (h, w)
darken_scale = (512, 256)  # (w, h)

train_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='mmsimmm.CheckedLoadAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# view 0: the day view; view 1: the view SMM darkens
smm_train_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='mmsimmm.CheckedLoadAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=False,
         interpolation='lanczos'),
    # torchvision's affine (nearest) about the centre, as the reference
    dict(type='mmsimmm.RandomCenterZoom', ratio_range=(0.7, 1.3),
         interpolation='nearest'),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmsimmm.PairedPhotometricViews', num_views=2),
    dict(type='mmsimmm.PerViewGaussianBlur', prob=0.5,
         sigma_range=(0.1, 2.0)),
    dict(type='mmsimmm.PairedCutout', prob=0.5),
    dict(type='mmsimmm.PerViewColorJitter', brightness=0.3, contrast=0.3,
         saturation=0.3, hue=0.3),
    dict(type='mmsimmm.PackViews', packer=dict(type='PackSegInputs')),
]
darken_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='Resize', scale=darken_scale, keep_ratio=False,
         interpolation='lanczos'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='mmsimmm.CheckedLoadAnnotations'),
    dict(type='mmsimmm.ResizeForEvaluation', scale=scale,
         interpolation='lanczos'),
    dict(type='PackSegInputs'),
]
mmseg_test_pipeline = [
    dict(type='mmsimmm.CheckedLoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='mmsimmm.CheckedLoadAnnotations'),
    dict(type='PackSegInputs'),
]

cityscapes_train = dict(
    type='CityscapesDataset',
    data_root=cityscapes_root,
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=cityscapes_train)
# SMM stage 1 (TwoPhaseTrainLoop(darken_dataloader=...)); same batch size,
# so an epoch is as many iterations as in stage 2
darken_dataloader = dict(
    train_dataloader,
    dataset=dict(cityscapes_train, pipeline=darken_pipeline))

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
