# Baseline row "test-time exposure normalisation": training-free, the trivial
# reference. The ERM control's model (objects_erm.py) tested with every test
# image scaled by one gain so that its mean pixel value matches the day
# training mean (mmsimmm.ExposureNormalize; day images barely change). The
# intended use is
#   python tools/test.py configs/demo/cls/baselines/objects_exposure_norm.py \
#       <the objects_erm checkpoint>
# (training with this config is the ERM control's training).
_base_ = ['./objects_erm.py']
# mean pixel value (0-255, all channels) of the demo's day training images,
# generate_synthetic_objects(seed=0, num_train=2000), measured with
# mmsimmm.datasets.transforms.mean_pixel_value('<data_root>/train')
day_train_mean = 125.7
test_pipeline = [
    _base_.test_pipeline[0],  # LoadImageFromFile
    dict(type='mmsimmm.ExposureNormalize', target_mean=day_train_mean),
    *_base_.test_pipeline[1:],
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, pipeline=test_pipeline))
    for loader in _base_.test_dataloader
]
