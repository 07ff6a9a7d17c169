# Baseline row "AdaBN" (Li et al. 2016). USES TARGET DATA, NOT ZERO-SHOT: the
# BN statistics of the trained model are re-estimated on unlabelled night
# images before testing (mmsimmm.AdaBNHook: cumulative average over the
# loader, every weight untouched); day and night test sets are then both
# evaluated with the night statistics.
# Training is that of the ERM control (streets_erm.py), so the intended use is
#   python tools/test.py configs/demo/baselines/streets_adabn.py \
#       <the streets_erm checkpoint>
# The demo data has no separate unlabelled night split, so the night images
# used are the night validation images themselves, without their labels
# (transductive); point `adabn_data_prefix` at a held-out night split when a
# dataset has one. Set the hook loader's data_root along with the others.
_base_ = ['./streets_erm.py']
adabn_data_prefix = dict(img_path='night/leftImg8bit/val')
adabn_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root={{_base_.data_root}},
        data_prefix=adabn_data_prefix,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackSegInputs')]))
custom_hooks = _base_.custom_hooks + [
    dict(type='mmsimmm.AdaBNHook', dataloader=adabn_dataloader)
]
