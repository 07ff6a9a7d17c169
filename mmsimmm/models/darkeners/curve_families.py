"""Darkening curve families for the darkener ablations of the paper
(CODaN: brightness 57.96, gamma 63.96, reciprocal 62.60 vs the full curve's
65.87 top-1).

``CurveDarkener(curve=dict(type='mmsimmm.GammaCurve'))`` keeps the estimation
network, its exposure input and its losses, and replaces only the per-pixel
curve: the network's last layer gives one logit map per RGB channel, a
*strength* ``t = sigmoid(logit)`` in (0, 1) (``t -> 0`` is the identity),
and the family maps ``t`` to its parameter and darkens ``x`` with it. Each
family darkens one transform of the intensity by a factor:

=============  ============================  ==============================
family         curve                         parameter from the strength t
=============  ============================  ==============================
brightness     y = s x                       s = 1 - t in (0, 1)
gamma          y = x ** g  (log x times g)   g = max_gamma ** t in [1, max]
reciprocal     y = x / (x + a (1 - x))       a = max_divisor ** t in [1, max]
               (odds x/(1-x) divided by a)
=============  ============================  ==============================

All three keep 0 -> 0, are monotone in x and darken (y <= x) on [0, 1];
gamma and reciprocal keep 1 -> 1 (highlights and lamps stay), brightness does
not. The default maxima let the strongest setting map x = 0.9 below 1/255
(8-bit black), so every stage-1/2 exposure target is reachable on all but
saturated pixels.

The losses that read the curve maps: the loose TV loss reads the strength
map ``t`` (for brightness TV(t) = TV(s); for gamma and reciprocal, t is the
parameter on a log scale normalised to [0, 1]), so it still keeps the
parameter map smooth except across edges. The flexibility loss reads the
quadratic curve's output scale B, which these families do not have: the
darkener returns B = 1, so that loss is 0 with no gradient: not applicable
(the ablation configs change only the darkener; it is logged as 0).
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmsimmm.registry import MODELS


class CurveFamily(nn.Module):
    """Base of a one-parameter family of per-pixel darkening curves.

    Subclasses define :meth:`parameter` (strength ``t`` in (0, 1) -> the
    family's parameter map) and :meth:`curve` (``x``, parameter -> ``y``).
    """
    # curve maps the estimation network predicts: one per RGB channel
    num_maps = 3

    def curve_maps(self, logits: Tensor) -> Tuple[Tensor, Tensor]:
        """Network output (N, 3, H, W) -> ``(strength, beta)``: the strength
        map read by the TV loss and the scale B = 1 the flexibility loss
        reads (these families have no output scale)."""
        strength = torch.sigmoid(logits)
        return strength, strength.new_ones(()).expand_as(strength)

    def parameter(self, strength: Tensor) -> Tensor:
        raise NotImplementedError

    def curve(self, img: Tensor, parameter: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, img: Tensor, strength: Tensor) -> Tensor:
        """Darken ``img`` (RGB in [0, 1]) with the strength map."""
        return self.curve(img, self.parameter(strength))


def _check_maximum(owner: str, key: str, value: float) -> float:
    if not value > 1:
        raise ValueError(f'{owner}: {key} must be > 1 (1 is the identity), '
                         f'got {value}')
    return float(value)


@MODELS.register_module()
class BrightnessCurve(CurveFamily):
    """y = s x with a per-pixel, per-channel scale s = 1 - t in (0, 1)."""

    def parameter(self, strength: Tensor) -> Tensor:
        return 1 - strength

    def curve(self, img: Tensor, parameter: Tensor) -> Tensor:
        return img * parameter


@MODELS.register_module()
class GammaCurve(CurveFamily):
    """y = x ** g with a per-pixel, per-channel gamma g = max_gamma ** t.

    Args:
        max_gamma: the largest gamma (t -> 1); 64 maps 0.9 to 0.0012.
    """

    def __init__(self, max_gamma: float = 64.0):
        super().__init__()
        self.max_gamma = _check_maximum('GammaCurve', 'max_gamma', max_gamma)

    def parameter(self, strength: Tensor) -> Tensor:
        return torch.exp(strength * math.log(self.max_gamma))

    def curve(self, img: Tensor, parameter: Tensor) -> Tensor:
        # x = 0 routed around the power: 0 ** g is 0, and the gradient of g
        # (x ** g * log x) stays finite there instead of 0 * -inf = NaN
        positive = img > 0
        safe = torch.where(positive, img, torch.ones_like(img))
        return torch.where(positive, torch.pow(safe, parameter),
                           torch.zeros_like(img))


@MODELS.register_module()
class ReciprocalCurve(CurveFamily):
    """y = x / (x + a (1 - x)), a = max_divisor ** t: the rational curve that
    divides the odds x / (1 - x) by a (identity at a = 1, keeps 0 and 1).

    The reference names a 'v3 reciprocal curve' without publishing it; this
    form is mmsimmm's choice (docs/deviations.md).

    Args:
        max_divisor: the largest a (t -> 1); 4096 maps 0.9 to 0.0022.
    """

    def __init__(self, max_divisor: float = 4096.0):
        super().__init__()
        self.max_divisor = _check_maximum('ReciprocalCurve', 'max_divisor',
                                          max_divisor)

    def parameter(self, strength: Tensor) -> Tensor:
        return torch.exp(strength * math.log(self.max_divisor))

    def curve(self, img: Tensor, parameter: Tensor) -> Tensor:
        # defined on [0, 1]: above 1 the denominator reaches 0
        x = img.clamp(0, 1)
        return x / (x + parameter * (1 - x))
