# Similarity Min-Max on CODaN with the paper's classification settings:
# stage 1 trains the darkener against the frozen day classifier (15 epochs),
# stage 2 adapts the classifier on two augmented views of each day image, the
# second darkened (90 epochs). Reports day/accuracy/top1 and
# night/accuracy/top1 on test_day / test_night.
#   1. python tools/train.py configs/codan_day_baseline.py    (F on day)
#   2. python tools/train.py configs/codan_simmm.py           (stage 1 + 2)
#   3. python tools/test.py configs/codan_simmm.py \
#          work_dirs/codan_simmm/iter_32865.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/models/codan_simmm_resnet18.py',
    './_base_/datasets/codan_day_to_night.py',
    './_base_/schedules/codan_simmm.py',
]
# a plain mmpretrain checkpoint loads into model.task_model and re-syncs the
# EMA target; the darkener starts from scratch
load_from = 'work_dirs/codan_day_baseline/epoch_90.pth'
train_dataloader = dict(dataset=dict(pipeline={{_base_.two_view_pipeline}}))
# iteration-based loop: mmpretrain's default checkpoint hook counts epochs,
# which an iteration loop never finishes (it would save only at the end)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval={{_base_.val_interval_iters}}, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
# D and F are wrapped separately for DDP (two optimisers, one frozen at a time)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
randomness = dict(seed=0)
# checkpoints that load with torch.load(weights_only=True) (--resume, and
# load_from of the next stage): the message hub stored as plain data; stop
# at the first non-finite loss
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
