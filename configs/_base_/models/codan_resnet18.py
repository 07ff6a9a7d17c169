# The paper's classifier for CODaN: mmpretrain's ResNet-18 ImageClassifier
# (unmodified) with a 10-class linear head.
_base_ = ['mmpretrain::_base_/models/resnet18.py']
model = dict(head=dict(num_classes=10, topk=(1, )))
