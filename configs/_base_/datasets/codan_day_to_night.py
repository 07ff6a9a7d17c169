# CODaN (Common Objects Day and Night; Lengyel et al., ICCV 2021), laid out
# as it unpacks (see mmsimmm/datasets/codan.py for where to get it):
#   data/codan/{train,val,test_day,test_night}/<10 class folders>/*.jpg
# Training sees day images only. `val` (500 day images) is the only split
# validated during training (no night data, so nothing is selected on it);
# the test loop reports test_day and test_night in one run as
# day/accuracy/top1 and night/accuracy/top1.
dataset_type = 'mmsimmm.CODaNDataset'
data_root = 'data/codan'
crop_size = 224
# mmpretrain keeps the preprocessor at the top level of a config; the Runner
# merges it into the model (SimMinMax hands it on to its task model)
data_preprocessor = dict(
    num_classes=10,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# The paper's augmentation: random resized crop (scale 0.5-1), horizontal
# flip, colour jitter (0.3 brightness, contrast, saturation; 0.3 hue).
view_pipeline = [
    dict(type='RandomResizedCrop', scale=crop_size,
         crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3,
         hue=0.3),
]
train_pipeline = [dict(type='LoadImageFromFile'), *view_pipeline,
                  dict(type='PackInputs')]
# SMM stage 2: two views of every image, each with its own crop, flip and
# jitter (mmpretrain's MultiView); SimMinMax darkens the second one.
two_view_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=crop_size, edge='short'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='PackInputs'),
]


def _split(name, pipeline, shuffle=False):
    return dict(
        batch_size=32,
        num_workers=4,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=name,
            pipeline=pipeline))


train_dataloader = _split('train', train_pipeline, shuffle=True)
val_dataloader = _split('val', test_pipeline)
val_evaluator = dict(type='Accuracy', topk=(1, ), prefix='val/accuracy')
test_dataloader = [
    _split('test_day', test_pipeline),
    _split('test_night', test_pipeline)
]
test_evaluator = [
    dict(type='Accuracy', topk=(1, ), prefix='day/accuracy'),
    dict(type='Accuracy', topk=(1, ), prefix='night/accuracy'),
]
val_cfg = dict()
test_cfg = dict(type='mmsimmm.MultiDatasetTestLoop')
