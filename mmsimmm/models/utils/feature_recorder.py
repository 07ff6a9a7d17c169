"""Record outputs of named modules of an unmodified model with forward hooks."""
from typing import Any, Dict, Sequence, Union

import torch.nn as nn


class FeatureRecorder:
    """Taps ``model``'s submodules by dotted path (``'backbone'``,
    ``'backbone.layer4'``) while active::

        with FeatureRecorder(model, ['backbone']) as recorder:
            model.extract_feat(x)
        feats = recorder['backbone']

    Paths are checked on construction; an unknown path raises a one-line
    ``KeyError`` naming it and the model. A path called several times within
    one ``with`` block keeps its last output.
    """

    def __init__(self, model: nn.Module, sources: Union[str, Sequence[str]]):
        self.sources = [sources] if isinstance(sources, str) else list(sources)
        modules = dict(model.named_modules())
        self._modules = {}
        for source in self.sources:
            if source not in modules:
                raise KeyError(
                    f'FeatureRecorder: {type(model).__name__} has no module '
                    f"'{source}' (top-level children: "
                    f'{", ".join(n for n, _ in model.named_children())})')
            self._modules[source] = modules[source]
        self.outputs: Dict[str, Any] = {}
        self._handles = []

    def __enter__(self) -> 'FeatureRecorder':
        self.outputs = {}
        for source, module in self._modules.items():
            self._handles.append(
                module.register_forward_hook(self._hook_for(source)))
        return self

    def _hook_for(self, source):

        def hook(module, inputs, output):
            self.outputs[source] = output

        return hook

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __getitem__(self, source: str):
        if source not in self.outputs:
            raise KeyError(f"FeatureRecorder: '{source}' was not called "
                           'inside the recording block')
        return self.outputs[source]
