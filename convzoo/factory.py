# SPDX-License-Identifier: MIT
"""``create_model``: the one public factory, random or released weights, classifier or backbone.

timm's ``create_model`` (``timm/models/_factory.py``) is the model: one call that
reads a registered name and the options every model understands. It sits above
the registry (the names and facts), the families (``models/``, which register
into the registry) and ``weights/`` (which converts and loads released weights),
so none of those imports it and the layers have no circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from .errors import OptionError
from .models.features import FeatureNet
from .registry import get_entry
from .weights.pretrained import build_pretrained

Pretrained = bool | str | Path | None


def create_model(
    name: str,
    *,
    pretrained: Pretrained = False,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Build a registered model: random, or with weights, as a classifier or as a backbone.

    ``pretrained`` is ``False`` (random initialization), ``True`` (the model's
    default released weights), ``"torchvision"`` or ``"timm"``, or the path of a
    weights file; see :mod:`convzoo.weights.pretrained`. ``features_only=True``
    returns the model as a backbone (timm's option of that name): a
    :class:`~convzoo.models.features.FeatureNet` whose forward gives the feature map
    of each stage (``out_indices`` picks some), described by ``model.feature_info``.
    The other arguments are :meth:`ModelEntry.build`'s (``num_classes``,
    ``in_chans``, ``drop_rate``, ``drop_path_rate``, ``small_input``, family options).
    """
    entry = get_entry(name)
    if out_indices is not None and not features_only:
        raise OptionError("out_indices applies to features_only=True models only")
    if pretrained is None or pretrained is False:
        model = entry.build(**kwargs)
    else:
        model = build_pretrained(entry, pretrained, **kwargs)
    if not features_only:
        return model
    in_chans = kwargs.get("in_chans", 3)
    return FeatureNet(model, out_indices, input_size=(in_chans, *entry.default_input_size[1:]))
