# Baseline row "day-only ERM" (control) on the demo street scenes: the day
# checkpoint (synthetic_streets_baseline.py after `pretrain_iters`, the F that
# SMM starts from) fine-tuned for `finetune_iters` more day-only iterations.
# Every fine-tuned baseline row inherits this file, so all of them start from
# the same checkpoint with the same optimiser (SMM stage 2's task optimiser,
# AdamW 5e-4, wd 1e-4, PolyLR) and number of iterations, and differ only in
# what they change.
_base_ = ['../synthetic_streets_baseline.py']
load_from = 'work_dirs/demo/baseline/iter_450.pth'  # the day checkpoint
finetune_iters = 250  # = adapt_iters of synthetic_streets_simmm.py
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=finetune_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=finetune_iters, val_interval=finetune_iters)
default_hooks = dict(
    checkpoint=dict(interval=finetune_iters, max_keep_ckpts=1))
