# Day-only I3D training on the day clips (ours: the paper gives no schedule
# for its baseline): SGD Nesterov, momentum 0.9, wd 1e-4, lr 1e-2 for batch
# 8, 30 epochs, x0.1 at 20 and 27 (the ImageNet-inflated backbone starts
# from torchvision's ResNet-50, as mmaction2's I3D config does).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-2, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[20, 27], gamma=0.1)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_begin=1,
                 val_interval=5)
auto_scale_lr = dict(enable=False, base_batch_size=8)
