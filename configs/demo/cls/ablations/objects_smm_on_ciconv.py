# Beyond the paper: SMM on top of the CIConv-W first layer. CIConv makes the
# input invariant to a per-image gain; SMM trains F on what a gain cannot
# express (curves, pools of light, noise through the invariant). Starts from
# a CIConv day-only model (benchmarks/night_table.py row `ciconv_day`: the
# CIConv baseline config trained for pretrain_iters), then the default SMM
# stages. The darkener sees [0, 1] RGB as in every row; only F changes.
_base_ = ['../objects_simmm.py']
# CIConv needs RGB with black at 0 (../baselines/objects_ciconv.py)
data_preprocessor = dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0])
model = dict(
    task_model=dict(
        backbone=dict(
            _delete_=True,
            type='mmsimmm.CIConvBackbone',
            ciconv=dict(scale=0.0),
            backbone={{_base_.model.task_model.backbone}})),
    # the ResNet sits one level down, behind the invariant
    task_adapter=dict(darken_taps=('backbone.backbone.layer4', )))
