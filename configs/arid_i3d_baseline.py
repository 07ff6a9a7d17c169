# Day-only baseline for ARID: mmaction2's I3D (ResNet3d-50) trained on the
# day clips, validated on the day val list, tested on ARID split 1 (night,
# top-1 / top-5, multi-clip). Its last checkpoint is the F that SMM starts
# from (configs/arid_simmm.py). Layout: docs/arid.md.
#   python tools/train.py configs/arid_i3d_baseline.py
#   python tools/test.py configs/arid_i3d_baseline.py \
#       work_dirs/arid_i3d_baseline/epoch_30.pth
_base_ = [
    'mmaction::_base_/default_runtime.py',
    './_base_/models/arid_i3d.py',
    './_base_/datasets/arid_day_to_night.py',
    './_base_/schedules/arid_i3d_baseline.py',
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3,
                    save_best=None))
randomness = dict(seed=0)
# checkpoints that load with torch.load(weights_only=True) (--resume, and
# load_from of the next stage), and a one-line stop on a NaN/Inf loss
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
