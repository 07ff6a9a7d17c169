# Baseline row "AdaBN" (Li et al. 2016). USES TARGET DATA, NOT ZERO-SHOT: the
# BN statistics of the trained model are re-estimated on unlabelled night
# images before testing (mmsimmm.AdaBNHook: cumulative average over the
# loader, every weight untouched); test_day and test_night are then both
# evaluated with the night statistics.
# Training is that of the ERM control (objects_erm.py), so the intended use is
#   python tools/test.py configs/demo/cls/baselines/objects_adabn.py \
#       <the objects_erm checkpoint>
# The demo data has no separate unlabelled night split, so the night images
# used are the test_night images themselves, without their labels
# (transductive); point `adabn_data_prefix` at a held-out night split when a
# dataset has one. Set the hook loader's data_root along with the others.
_base_ = ['./objects_erm.py']
adabn_data_prefix = 'test_night'
adabn_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='mmsimmm.CODaNDataset',
        data_root={{_base_.data_root}},
        data_prefix=adabn_data_prefix,
        metainfo=dict(classes={{_base_.classes}}),
        pipeline={{_base_.test_pipeline}}))
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook'),
    dict(type='mmsimmm.AdaBNHook', dataloader=adabn_dataloader)
]
