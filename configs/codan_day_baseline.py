# Day-only baseline for CODaN: mmpretrain's ResNet-18 ImageClassifier trained
# on the 10,000 day images, evaluated on test_day and test_night in one run.
# Its last checkpoint is the F that SMM starts from (configs/codan_simmm.py).
#   python tools/train.py configs/codan_day_baseline.py
#   python tools/test.py configs/codan_day_baseline.py \
#       work_dirs/codan_day_baseline/epoch_90.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/models/codan_resnet18.py',
    './_base_/datasets/codan_day_to_night.py',
    './_base_/schedules/codan_day_baseline.py',
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
randomness = dict(seed=0)
# checkpoints that load with torch.load(weights_only=True) (--resume, and
# load_from of the next stage): the message hub stored as plain data; stop
# at the first non-finite loss
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
