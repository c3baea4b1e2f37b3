# SPDX-License-Identifier: MIT
"""Top-k predictions for image files, prepared exactly as the model's training (or released weights') data was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ..checkpoint import Checkpoint
from ..data.decode import UnreadableImage, decode_file
from ..errors import DataError
from ..weights.catalog import EvalTransform


@dataclass
class Prediction:
    path: str
    top: list[tuple[str, float]] | None  # (class, probability), best first; None if the file was skipped
    error: str | None = None


def read_image(path: Path, channels: int) -> Tensor:
    """A uint8 ``(C, H, W)`` tensor, grey (1 channel) or RGB, decoded as training decodes it; :class:`DataError`
    naming the file if it cannot be (truncated, too large, not an image), so ``predict`` goes on with the others."""
    try:
        return decode_file(path, channels)
    except UnreadableImage as error:
        raise DataError(f"{path}: {error}") from None


def evaluation_transform(transform: EvalTransform) -> Callable[[Tensor], Tensor]:
    """Released weights' evaluation preprocessing: resize the shorter side, center crop, scale, normalize."""
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.Resize(transform.resize, interpolation=v2.InterpolationMode(transform.interpolation), antialias=True),
            v2.CenterCrop(transform.crop),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(transform.mean), list(transform.std)),
        ]
    )


class Predictor:
    """A model, the preparation of one image, and the class names."""

    def __init__(
        self, model: nn.Module, prepare: Callable[[Path], Tensor], classes: list[str], device: torch.device
    ) -> None:
        self.model, self.prepare, self.classes, self.device = model.to(device).eval(), prepare, classes, device

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, device: torch.device = torch.device("cpu")) -> Predictor:
        """A trained convzoo checkpoint: its image size, channels and normalization."""
        spec = checkpoint.model
        adapter = spec.adapter()

        def prepare(path: Path) -> Tensor:
            from torchvision.transforms.v2 import functional as TF

            image = read_image(path, spec.data_channels)
            if spec.resize_size is None:  # trained on images resized to a square
                image = TF.resize(image, [spec.image_size] * 2, antialias=True)
            else:  # trained on a streamed folder: its evaluation transform
                mode = TF.InterpolationMode(spec.interpolation)
                image = TF.resize(image, spec.resize_size, interpolation=mode, antialias=True)
                image = TF.center_crop(image, spec.image_size)
            return adapter(image.unsqueeze(0)).squeeze(0)

        return cls(checkpoint.build_model(), prepare, spec.classes, device)

    @classmethod
    def from_pretrained(cls, model: nn.Module, device: torch.device = torch.device("cpu")) -> Predictor:
        """A model with released weights (``create_model(..., pretrained=...)``): their own evaluation transform."""
        weights = model.pretrained_weights
        transform = evaluation_transform(weights.transform)
        return cls(model, lambda path: transform(read_image(path, 3)), weights.classes, device)

    @torch.no_grad()
    def predict(self, paths: list[Path], k: int = 5) -> list[Prediction]:
        results, images, readable = [], [], []
        for path in paths:
            try:
                images.append(self.prepare(path))
                readable.append(len(results))
                results.append(Prediction(str(path), None))
            except DataError as error:
                results.append(Prediction(str(path), None, str(error)))
        if images:
            probabilities = self.model(torch.stack(images).to(self.device)).softmax(1)
            top = probabilities.topk(min(k, len(self.classes)), dim=1)
            for index, values, classes in zip(readable, top.values.tolist(), top.indices.tolist(), strict=True):
                results[index].top = [(self.classes[c], round(v, 5)) for c, v in zip(classes, values, strict=True)]
        return results
