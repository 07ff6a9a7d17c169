# Low-light action recognition, day -> night (ARID), read through mmaction2's
# own VideoDataset + decord pipeline. Layout (docs/arid.md):
#   data/arid/day/videos/<Class>/<name>.mp4      day-time training clips
#   data/arid/day/train.txt, day/val.txt         "<Class>/<name>.mp4 <label>"
#   data/arid/night/videos/<Class>/<name>.mp4    ARID clips
#   data/arid/night/split1_test.txt              ARID split 1 test list
# Training and validation see day videos only (nothing is selected on
# night data); the test loop reports night/acc/top1 and top5 on ARID split 1
# with mmaction2's multi-clip test (10 clips x 3 crops, averaged).
dataset_type = 'VideoDataset'
data_root = 'data/arid'
day_videos = f'{data_root}/day/videos'
night_videos = f'{data_root}/night/videos'
ann_file_train = f'{data_root}/day/train.txt'
ann_file_val = f'{data_root}/day/val.txt'
ann_file_test = f'{data_root}/night/split1_test.txt'
# 11 classes (label = index): Drink, Jump, Pick, Pour, Push, Run, Sit,
# Stand, Turn, Walk, Wave
clip_len, frame_interval, crop_size = 32, 2, 224

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='MultiScaleCrop', input_size=crop_size, scales=(1, 0.8),
         random_crop=False, max_wh_scale_gap=0),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# mmaction2's multi-clip test: 10 clips x 3 crops per video, scores averaged
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=day_videos),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=day_videos),
        pipeline=val_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric', prefix='val/acc')
test_dataloader = [
    dict(
        batch_size=1,
        num_workers=8,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type=dataset_type,
            ann_file=ann_file_test,
            data_prefix=dict(video=night_videos),
            pipeline=test_pipeline,
            test_mode=True))
]
test_evaluator = [
    dict(type='AccMetric', metric_list=('top_k_accuracy', ),
         metric_options=dict(top_k_accuracy=dict(topk=(1, 5))),
         prefix='night/acc')
]
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='mmsimmm.MultiDatasetTestLoop')
