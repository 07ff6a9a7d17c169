# Day-night place recognition data, in cirtorch's layout (docs/tokyo247.md):
#   data/retrieval/train/retrieval-SfM-120k/{retrieval-SfM-120k.pkl,ims/}
#   data/retrieval/test/247tokyo1k/{gnd_247tokyo1k.pkl,jpg/,query_times.txt}
# Training: SfM-120k tuples (query, positive, 5 hard negatives re-mined with
# the current model every round by mmsimmm.TupleMiningHook), images at most
# 362 pixels on their long side. Test: every Tokyo 24/7 image at most 1024
# pixels, one image per batch (multi-scale descriptors of the model),
# mAP and Recall@1/5/10 for all, day, sunset and night queries.
data_root = 'data/retrieval'
sfm_ann_file = 'train/retrieval-SfM-120k/retrieval-SfM-120k.pkl'
sfm_images = 'train/retrieval-SfM-120k/ims'
train_image_size = 362
test_image_size = 1024
tuples_per_batch = 5
num_negatives = 5
query_size = 2000  # tuples per mining round (cirtorch's recipe)
pool_size = 22000  # negative pool per round
# ImageNet statistics, RGB (cirtorch's normalisation)
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=train_image_size, edge='long',
         backend='pillow', interpolation='lanczos'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=test_image_size, edge='long',
         backend='pillow', interpolation='lanczos'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=tuples_per_batch,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='mmsimmm.tuple_collate'),
    dataset=dict(
        type='mmsimmm.SfM120kTupleDataset',
        data_root=data_root,
        ann_file=sfm_ann_file,
        data_prefix=dict(img_path=sfm_images),
        pipeline=train_pipeline,
        num_negatives=num_negatives,
        query_size=query_size,
        pool_size=pool_size))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='mmsimmm.Tokyo247Dataset',
        data_root=data_root,
        ann_file='test/247tokyo1k/gnd_247tokyo1k.pkl',
        data_prefix=dict(img_path='test/247tokyo1k/jpg'),
        query_times='test/247tokyo1k/query_times.txt',
        pipeline=test_pipeline))
test_evaluator = dict(type='mmsimmm.PlaceRecognitionMetric', topk=(1, 5, 10))
test_cfg = dict()
# no validation during training: nothing is selected on the test set
val_dataloader = None
val_evaluator = None
val_cfg = None
