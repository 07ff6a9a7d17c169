# The paper's action model: mmaction2's I3D (ResNet3d-50 inflated from an
# ImageNet ResNet-50, I3DHead), unmodified, with an 11-class ARID head.
_base_ = ['mmaction::_base_/models/i3d_r50.py']
model = dict(cls_head=dict(num_classes=11))
