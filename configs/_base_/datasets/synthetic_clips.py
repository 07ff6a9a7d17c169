# The embedded synthetic day/night clips (mmsimmm.datasets.synthetic_clips:
# 6 motion classes, 8 frames of 64x64, mp4 files in the layout of
# docs/arid.md, made by `tools/demo.py --task video`), read by mmaction2's
# VideoDataset + decord. Test: test_day and test_night (the same scenes) in
# one run, as day/acc/top1 and night/acc/top1.
dataset_type = 'VideoDataset'
data_root = 'work_dirs/demo_video/data'
# no flips: a mirrored "right" clip is a "left" one
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomResizedCrop', area_range=(0.6, 1.0)),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]


def _loader(ann_file, videos, pipeline, shuffle=False, test_mode=True):
    return dict(
        batch_size=8,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=dict(video=videos),
            pipeline=pipeline,
            test_mode=test_mode))


train_dataloader = _loader('day/train.txt', 'day/videos', train_pipeline,
                           shuffle=True, test_mode=False)
test_dataloader = [
    _loader('day/test.txt', 'day/videos', test_pipeline),
    _loader('night/test.txt', 'night/videos', test_pipeline),
]
test_evaluator = [
    dict(type='AccMetric', metric_list=('top_k_accuracy', ),
         metric_options=dict(top_k_accuracy=dict(topk=(1, ))),
         prefix='day/acc'),
    dict(type='AccMetric', metric_list=('top_k_accuracy', ),
         metric_options=dict(top_k_accuracy=dict(topk=(1, ))),
         prefix='night/acc'),
]
test_cfg = dict(type='mmsimmm.MultiDatasetTestLoop')
