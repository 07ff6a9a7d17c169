# Baseline row "day-only ERM" (control) on the demo objects: the day
# checkpoint (../objects_baseline.py after `pretrain_iters`, the F that SMM
# starts from) fine-tuned for `finetune_iters` more day-only iterations.
# Every fine-tuned baseline row inherits this file, so all of them start from
# the same checkpoint with the same optimiser (SMM stage 2's task optimiser,
# Adam 1e-3, wd 1e-5, cosine to 1e-5) and number of iterations, and differ
# only in what they change.
_base_ = ['../objects_baseline.py']
load_from = 'work_dirs/demo_cls/baseline/iter_1500.pth'  # the day checkpoint
finetune_iters = 400  # = adapt_iters of ../objects_simmm.py
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-5, begin=0, end=finetune_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=finetune_iters, val_interval=finetune_iters)
default_hooks = dict(
    checkpoint=dict(interval=finetune_iters, max_keep_ckpts=1))
