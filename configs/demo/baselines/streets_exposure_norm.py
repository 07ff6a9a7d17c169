# Baseline row "test-time exposure normalisation": training-free, the trivial
# reference. The ERM control's model (streets_erm.py) tested with every test
# image scaled by one gain so that its mean pixel value matches the day
# training mean (mmsimmm.ExposureNormalize; day images barely change). The
# intended use is
#   python tools/test.py configs/demo/baselines/streets_exposure_norm.py \
#       <the streets_erm checkpoint>
# (training with this config is the ERM control's training).
_base_ = ['./streets_erm.py']
# mean pixel value (0-255, all channels) of the demo's day training images,
# generate_synthetic_streets(seed=0, num_train=300), measured with
# mmsimmm.datasets.transforms.mean_pixel_value('<data_root>/leftImg8bit/train')
day_train_mean = 94.9
test_pipeline = [
    _base_.test_pipeline[0],  # LoadImageFromFile
    dict(type='mmsimmm.ExposureNormalize', target_mean=day_train_mean),
    *_base_.test_pipeline[1:],
]
day_loader = dict(
    _base_.day_loader, dataset=dict(_base_.day_loader.dataset,
                                    pipeline=test_pipeline))
night_loader = dict(
    _base_.night_loader, dataset=dict(_base_.night_loader.dataset,
                                      pipeline=test_pipeline))
val_dataloader = [day_loader, night_loader]
test_dataloader = val_dataloader
